#!/bin/sh
# Fetch the browser libraries kept in the repository from the npm registry (no CDN at run time):
# Swagger UI for the API documentation page, axe-core for the browser tests' accessibility check.
# Run after changing a version below; the files are committed, so a fresh clone needs no npm.
set -eu
SWAGGER_UI=5.35.0
AXE_CORE=4.14.1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "swagger-ui-dist@$SWAGGER_UI" "axe-core@$AXE_CORE" >/dev/null
mkdir swagger axe
tar xzf "swagger-ui-dist-$SWAGGER_UI.tgz" -C swagger --strip-components=1
tar xzf "axe-core-$AXE_CORE.tgz" -C axe --strip-components=1
docs="$here/dashboard/static/vendor/swagger-ui"
mkdir -p "$docs" "$here/tests/dashboard/assets"
cp swagger/swagger-ui-bundle.js swagger/swagger-ui-bundle.js.LICENSE.txt swagger/swagger-ui.css \
  swagger/LICENSE swagger/NOTICE "$docs/"
echo "swagger-ui-dist $SWAGGER_UI (npm)" > "$docs/VERSION"
cp axe/axe.min.js "$here/tests/dashboard/assets/axe.min.js"
cp axe/LICENSE "$here/tests/dashboard/assets/axe-core.LICENSE"
echo "axe-core $AXE_CORE (npm)" > "$here/tests/dashboard/assets/VERSION"
echo "vendored swagger-ui-dist $SWAGGER_UI and axe-core $AXE_CORE"
