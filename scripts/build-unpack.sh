#!/usr/bin/env bash
# Builds the static modelcar-pack binary of the unpack image for each architecture and lays
# out that image's filesystem (the Containerfile-unpack builder stage's output):
#   OUT/<arch>/rootfs/modelcar-pack                        the static binary
#   OUT/<arch>/rootfs/etc/ssl/certs/ca-certificates.crt   CA certificates (registries' TLS)
#   OUT/<arch>/rootfs/home/user/, OUT/<arch>/rootfs/tmp/  empty, world-writable with sticky bit
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/build-unpack.sh [--arch ARCH]... [--out DIR]

Builds modelcar-pack statically for each ARCH (amd64, arm64, ppc64le, s390x; default: all
four) into DIR (default: dist-unpack) as DIR/ARCH/rootfs, the unpack image's filesystem.
amd64 and arm64 link musl; ppc64le and s390x link glibc statically (this toolchain has no
musl standard library for them). Needs the sidecars (scripts/build-sidecar.sh; modelcar-pack
embeds them), the Rust targets and cross C compilers that scripts/install-deps.sh installs.
Cargo profile `unpack` (Cargo.toml). Prints each arch's image layer size (its rootfs as a
tar) and warns when it reaches 5 MB.
USAGE
}

out="$MCB_ROOT/dist-unpack"
archs=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --arch) archs+=("${2:?--arch needs a value}"); shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done
[ "${#archs[@]}" -gt 0 ] || archs=("${MCB_ARCHES[@]}")
certs=${CA_CERTIFICATES:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$certs" ] || die "no CA certificates at $certs (apt-get install ca-certificates)"
need_tool cargo od readelf tar

for arch in "${archs[@]}"; do
  profile_cfg=()
  case "$arch" in
    # musl-gcc as the linker would make a dynamic PIE; rustc's own self-contained link is static.
    amd64) target=x86_64-unknown-linux-musl cc=musl-gcc linker=cc strip=strip ;;
    arm64) target=aarch64-unknown-linux-musl cc=aarch64-linux-gnu-gcc linker=rust-lld strip=aarch64-linux-gnu-strip ;;
    # ppc64le's static glibc binary fits under 5 MB only with opt-level z for modelcar-pack
    # (README); the others keep the profile's s.
    ppc64le) target=powerpc64le-unknown-linux-gnu cc=powerpc64le-linux-gnu-gcc linker=$cc strip=powerpc64le-linux-gnu-strip
      profile_cfg=(--config 'profile.unpack.package.modelcar-pack.opt-level="z"') ;;
    s390x) target=s390x-unknown-linux-gnu cc=s390x-linux-gnu-gcc linker=$cc strip=s390x-linux-gnu-strip ;;
    *) usage_error "unknown arch '$arch' (amd64 arm64 ppc64le s390x)" ;;
  esac
  need_tool "$cc" "$strip"
  up=$(tr 'a-z-' 'A-Z_' <<<"$target")
  low=${target//-/_}
  log "$arch: cargo build --profile unpack --target $target"
  # crt-static: a static binary for the gnu targets too (musl's default already).
  env "CC_$low=$cc" "CARGO_TARGET_${up}_LINKER=$linker" \
    "CARGO_TARGET_${up}_RUSTFLAGS=-C target-feature=+crt-static" \
    cargo "${profile_cfg[@]}" build --profile unpack --locked -q -p modelcar-pack --no-default-features --target "$target" \
    --manifest-path "$MCB_ROOT/Cargo.toml"
  # The unpack profile (Cargo.toml): release, with modelcar-pack itself built for size too.
  bin="${CARGO_TARGET_DIR:-$MCB_ROOT/target}/$target/unpack/modelcar-pack"
  got=$(elf_machine "$bin") want=$(arch_elf_machine "$arch")
  [ "$got" = "$want" ] || die "$bin is not a $arch binary (ELF machine $got, want $want)"
  # A dynamic binary has a PT_INTERP program header: refuse it, scratch has no loader.
  # (Static glibc still names ld64.so inside, so the header is what counts.)
  if readelf -lW "$bin" | grep -q INTERP; then
    die "$bin is not static (it asks for a program interpreter)"
  fi
  root="$out/$arch/rootfs"
  rm -rf "${out:?}/$arch"
  mkdir -p "$root/etc/ssl/certs" "$root/home/user" "$root/tmp"
  # The static link keeps the symbol table (the profile's strip acts before it): drop it here.
  "$strip" -o "$root/modelcar-pack" "$bin"
  cp "$certs" "$root/etc/ssl/certs/ca-certificates.crt"
  # Any UID (OpenShift's random ones) can write here when the root is not read-only.
  chmod 1777 "$root/home/user" "$root/tmp"
  # The image's one layer is this tree as a tar: issue 15 wants it under 5 MB on every arch.
  layer=$(tar -C "$root" -cf - . | wc -c)
  # A warning, not a failure: the margin is small on ppc64le (README).
  [ "$layer" -lt 5000000 ] || log "$arch: warning: image layer over issue 15's 5 MB goal"
  log "$arch: binary $(stat -c %s "$root/modelcar-pack") bytes, layer $layer bytes"
done
