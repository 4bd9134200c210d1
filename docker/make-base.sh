#!/usr/bin/env bash
# Make a stand-in for the python:3.11-slim-bookworm base image from Debian's own packages and
# import it into podman/buildah storage under that name, for machines that cannot pull from a
# registry (CI here). The Dockerfile then builds unchanged; what it checks is the Dockerfile's
# logic, not the official image. With a registry, skip this and let buildah pull the pinned base.
#
#   docker/make-base.sh [ROOTFS_CACHE_DIR]
#
# The root file system is cached in ROOTFS_CACHE_DIR (default: .cache/base-rootfs) so a second
# run only re-imports it.
set -euo pipefail

IMAGE="docker.io/library/python:3.11-slim-bookworm"
SUITE="bookworm"
CACHE="${1:-.cache/base-rootfs}"
STORAGE=(--storage-driver overlay)

if podman "${STORAGE[@]}" image exists "$IMAGE"; then
    echo "make-base: $IMAGE already in local storage"
    exit 0
fi

if [[ ! -x "$CACHE/usr/bin/python3" ]]; then
    rm -rf "$CACHE.partial"
    mkdir -p "$(dirname "$CACHE")"
    started=$SECONDS
    debootstrap --variant=minbase \
        --include=python3,python3-venv,python-is-python3,ca-certificates \
        "$SUITE" "$CACHE.partial" >/dev/null
    # Trim what a slim image leaves out: package lists, docs, man pages, locales.
    rm -rf "$CACHE.partial"/var/lib/apt/lists/* "$CACHE.partial"/var/cache/apt/*.bin \
        "$CACHE.partial"/usr/share/doc/* "$CACHE.partial"/usr/share/man/* \
        "$CACHE.partial"/usr/share/info/* "$CACHE.partial"/usr/share/locale/*
    mv "$CACHE.partial" "$CACHE"
    echo "make-base: debootstrap took $((SECONDS - started)) s"
fi
# The package registries are reached through a proxy with its own CA: trust it in the builder.
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
    cp /etc/ssl/certs/ca-certificates.crt "$CACHE/etc/ssl/certs/ca-certificates.crt"
fi
tar -C "$CACHE" -c . | podman "${STORAGE[@]}" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    - "$IMAGE" >/dev/null
echo "make-base: imported $IMAGE"
