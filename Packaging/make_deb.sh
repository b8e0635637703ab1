#!/bin/bash
# Writes gru-run_VERSION_ARCH.deb from an installed tree (make install DESTDIR=STAGE PREFIX=/usr):
#   /usr/bin/gru-run                                   the release binary
#   /usr/share/man/man1/gru-run.1.gz                   the man page
#   /usr/share/bash-completion/completions/gru-run     bash completion (loaded on demand by bash-completion)
#   /usr/share/zsh/vendor-completions/_gru-run         zsh completion (Debian's folder for packaged ones)
#   /usr/share/fish/vendor_completions.d/gru-run.fish  fish completion
#   /usr/share/doc/gru-run/{copyright,changelog.Debian.gz}
# Depends: is what dpkg-shlibdeps finds for the libraries the binary links (their packages and versions).
# Usage: make_deb.sh STAGE_PREFIX DEB_VERSION OUT_DIR
set -euo pipefail
prefix=$1 version=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
arch=$(dpkg --print-architecture)
work=$(mktemp -d "${TMPDIR:-/tmp}/gru-run-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/gru-run_${version}_$arch
umask 022

install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" "$root/usr/share/doc/gru-run" \
  "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
  "$root/usr/share/fish/vendor_completions.d"
install -m 755 "$prefix/bin/gru-run" "$root/usr/bin/gru-run"
strip --remove-section=.comment "$root/usr/bin/gru-run"  # as dh_strip does
gzip -9n < "$prefix/share/man/man1/gru-run.1" > "$root/usr/share/man/man1/gru-run.1.gz"
# bash-completion sources the file: a #! line means nothing there.
sed '1{/^#!/d}' "$prefix/share/bash-completion/completions/gru-run" > "$root/usr/share/bash-completion/completions/gru-run"
install -m 644 "$prefix/share/zsh/site-functions/_gru-run" "$root/usr/share/zsh/vendor-completions/_gru-run"
install -m 644 "$prefix/share/fish/vendor_completions.d/gru-run.fish" "$root/usr/share/fish/vendor_completions.d/gru-run.fish"
install -m 644 "$here/debian/copyright" "$root/usr/share/doc/gru-run/copyright"
gzip -9n < "$here/debian/changelog" > "$root/usr/share/doc/gru-run/changelog.Debian.gz"
chmod 644 "$root/usr/share/man/man1/gru-run.1.gz" "$root/usr/share/doc/gru-run/changelog.Debian.gz" \
  "$root/usr/share/bash-completion/completions/gru-run"

# dpkg-shlibdeps reads the package names from a debian/control of a source tree: a minimal one.
mkdir -p "$work/src/debian"
printf 'Source: gru-run\n\nPackage: gru-run\nArchitecture: any\n' > "$work/src/debian/control"
depends=$(cd "$work/src" && dpkg-shlibdeps -O "$root/usr/bin/gru-run" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "make_deb.sh: dpkg-shlibdeps found no dependencies for usr/bin/gru-run" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$depends/" \
  "$here/debian/control.in" > "$root/DEBIAN/control"
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out/gru-run_${version}_$arch.deb" >/dev/null
echo "$out/gru-run_${version}_$arch.deb"
