#!/bin/sh
# corpus.sh DIR: a real image corpus for the bench (go run ./bench --files DIR):
# the wallpapers Debian ships in gnome-backgrounds and desktop-base (WebP, PNG
# and JPEG photographs and renders, 0.2-8 MB each, ~35 MB), unpacked from the
# packages without installing them. Needs apt-get (Debian or Ubuntu) and
# dpkg-deb. The figures in README.md "Performance" and bench/results/ use it.
set -eu
dir=${1:?usage: bench/corpus.sh DIR}
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
apt-get download gnome-backgrounds desktop-base >/dev/null 2>&1 || {
	echo "corpus.sh: apt-get download gnome-backgrounds desktop-base failed (apt-get update first?)" >&2
	exit 1
}
for deb in ./*.deb; do dpkg-deb -x "$deb" x; done
# gnome-backgrounds: every WebP over 300 kB (the small ones are SVG-like flats)
find x/usr/share/backgrounds/gnome -name '*.webp' -size +300k -exec cp {} "$dir"/ \;
# desktop-base: a JPEG and three PNGs, renamed to say where they come from
cp x/usr/share/plasma/look-and-feel/org.debian.desktop/contents/previews/fullscreenpreview.jpg "$dir"/debian-preview.jpg
cp x/usr/share/plymouth/themes/emerald/glow.png "$dir"/emerald-glow.png
cp 'x/usr/share/plymouth/themes/emerald/logo+emerald.png' "$dir"/emerald-logo.png
cp x/usr/share/desktop-base/softwaves-theme/grub/grub-16x9.png "$dir"/softwaves-16x9.png
echo "corpus.sh: $(ls "$dir" | wc -l) files, $(du -sh "$dir" | cut -f1) in $dir"
