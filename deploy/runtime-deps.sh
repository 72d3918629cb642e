#!/bin/sh
# runtime-deps.sh: print the Debian packages that provide the shared
# libraries the given binaries load (one name a line, sorted), so the
# runtime image installs exactly those and no -dev package. Used by the
# build stage of deploy/Dockerfile; runs on any Debian 12 with the
# binaries' libraries installed (e.g. `deploy/runtime-deps.sh build/*/herald-*`).
set -eu
for bin in "$@"; do
    ldd "$bin" | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]+ \(/{print $1}'
done | sort -u | while read -r lib; do
    # Debian 12 is usr-merged: a library may be owned under /lib or /usr/lib.
    real=$(readlink -f "$lib")
    for p in "$lib" "$real" "${real#/usr}" "/usr$lib"; do
        if owner=$(dpkg-query -S "$p" 2>/dev/null); then
            echo "${owner%%:*}" | sed 's/,.*//'
            break
        fi
    done
done | sort -u
