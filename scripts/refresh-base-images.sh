#!/usr/bin/env bash
# Re-resolves the Dockerfile's two base image tags to the digests of their multi-platform
# indexes and rewrites the pins in place. Needs registry access and `crane`
# (go install github.com/google/go-containerregistry/cmd/crane@latest) or Docker with buildx.
# Review the images' release notes, then commit the Dockerfile.
set -euo pipefail
cd "$(dirname "$0")/.."

digest() { # digest IMAGE:TAG -> sha256:...
  if command -v crane >/dev/null 2>&1; then
    crane digest "$1"
  else
    docker buildx imagetools inspect "$1" --format '{{json .Manifest.Digest}}' | tr -d '"'
  fi
}

for arg in RUST_IMAGE RUNTIME_IMAGE; do
  line="$(grep -E "^ARG $arg=" Dockerfile)"
  ref="${line#*=}"
  tag="${ref%@*}"
  new="$tag@$(digest "$tag")"
  if [[ "$new" != "$ref" ]]; then
    sed -i "s|^ARG $arg=.*|ARG $arg=$new|" Dockerfile
    echo "$arg: $ref -> $new"
  else
    echo "$arg: $ref (unchanged)"
  fi
done
