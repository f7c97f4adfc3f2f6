#!/usr/bin/env bash
# Regenerates src/gen/ from proto/ and the third-party protos (see buf.yaml).
# protovalidate's buf/validate/validate.proto is not published as source on
# npm and the Buf Schema Registry is out of reach, so it is unpacked from the
# Java artifact on Maven Central (pinned below) into the git-ignored .build/.
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOVALIDATE_VERSION=1.3.0
cache="${GATEHOUSE_CACHE:-$HOME/.cache/gatehouse}"
jar="$cache/protovalidate-$PROTOVALIDATE_VERSION.jar"
target=.build/protovalidate

if [ ! -f "$jar" ]; then
  mkdir -p "$cache"
  mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="build.buf:protovalidate:$PROTOVALIDATE_VERSION:jar" \
    -DoutputDirectory="$cache" -Dmdep.overWriteReleases=true
fi
rm -rf "$target" && mkdir -p "$target"
(cd "$target" && unzip -q -o "$jar" 'buf/validate/validate.proto')

exec scripts/node24.sh npx --no-install buf generate "$@"
