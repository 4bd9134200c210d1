"""Typed, validated configuration (strategy YAML files, later the live service's ConfigMap)."""
