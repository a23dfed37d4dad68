#!/usr/bin/env bash
# Fetch the pinned front-end assets from the npm registry into static/vendor/, and the
# browser tests' axe-core into tests/browser/vendor/ (a test tool the app never serves).
set -euo pipefail

HTMX_VERSION=2.0.11
PICO_VERSION=2.1.1
SWAGGER_UI_VERSION=5.35.0
AXE_CORE_VERSION=4.14.1

cd "$(dirname "$0")/.."
dest=static/vendor
test_dest=tests/browser/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Prints the path of the unpacked package directory for <package>@<version>.
fetch() {
    local spec=$1 tarball
    tarball=$(cd "$work" && npm pack --silent "$spec" | tail -n 1)
    mkdir -p "$work/${tarball%.tgz}"
    tar -xzf "$work/$tarball" -C "$work/${tarball%.tgz}"
    echo "$work/${tarball%.tgz}/package"
}

htmx=$(fetch "htmx.org@$HTMX_VERSION")
pico=$(fetch "@picocss/pico@$PICO_VERSION")
swagger=$(fetch "swagger-ui-dist@$SWAGGER_UI_VERSION")
axe=$(fetch "axe-core@$AXE_CORE_VERSION")

mkdir -p "$dest"
install -m 644 "$htmx/dist/htmx.min.js" "$dest/htmx-$HTMX_VERSION.min.js"
install -m 644 "$pico/css/pico.min.css" "$dest/pico-$PICO_VERSION.min.css"
# Only what the API docs page loads (no source maps, no standalone preset), and the licence.
swagger_dest="$dest/swagger-ui-$SWAGGER_UI_VERSION"
mkdir -p "$swagger_dest"
for file in swagger-ui-bundle.js swagger-ui.css LICENSE; do
    install -m 644 "$swagger/$file" "$swagger_dest/$file"
done
# Both end with a sourceMappingURL to a file not vendored; developer tools would ask for it.
sed -i '/^\/[/*]# sourceMappingURL=/d' "$swagger_dest/swagger-ui-bundle.js" "$swagger_dest/swagger-ui.css"

mkdir -p "$test_dest"
install -m 644 "$axe/axe.min.js" "$test_dest/axe-core-$AXE_CORE_VERSION.min.js"
install -m 644 "$axe/LICENSE" "$test_dest/axe-core-LICENSE"

# htmx.min.js carries its version inline; a mismatch means npm handed back the wrong file.
if ! grep -q "version:\"$HTMX_VERSION\"" "$dest/htmx-$HTMX_VERSION.min.js"; then
    echo "vendor.sh: $dest/htmx-$HTMX_VERSION.min.js does not declare version $HTMX_VERSION" >&2
    exit 1
fi
# axe.min.js opens with its version in the banner comment.
if ! head -c 200 "$test_dest/axe-core-$AXE_CORE_VERSION.min.js" | grep -q "axe v$AXE_CORE_VERSION"; then
    echo "vendor.sh: $test_dest/axe-core-$AXE_CORE_VERSION.min.js is not axe v$AXE_CORE_VERSION" >&2
    exit 1
fi

{
    echo "# package@version  sha256  file"
    echo "htmx.org@$HTMX_VERSION  $(sha256sum "$dest/htmx-$HTMX_VERSION.min.js" | cut -d' ' -f1)  htmx-$HTMX_VERSION.min.js"
    echo "@picocss/pico@$PICO_VERSION  $(sha256sum "$dest/pico-$PICO_VERSION.min.css" | cut -d' ' -f1)  pico-$PICO_VERSION.min.css"
    for file in swagger-ui-bundle.js swagger-ui.css; do
        echo "swagger-ui-dist@$SWAGGER_UI_VERSION  $(sha256sum "$swagger_dest/$file" | cut -d' ' -f1)  swagger-ui-$SWAGGER_UI_VERSION/$file"
    done
    echo "axe-core@$AXE_CORE_VERSION  $(sha256sum "$test_dest/axe-core-$AXE_CORE_VERSION.min.js" | cut -d' ' -f1)  ../../$test_dest/axe-core-$AXE_CORE_VERSION.min.js"
} > "$dest/VERSIONS"

echo "vendored into $dest:"
cat "$dest/VERSIONS"
