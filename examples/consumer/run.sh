#!/usr/bin/env bash
# Builds this example application against the avatar4j SDK installed in the local Maven repository
# (`./mvnw install` of the SDK first) and runs it three ways: on the class path, as an executable jar
# and on the module path. Every run renders MP4s, streams and cancels, and loads a model bundle
# (see App.java); every run denies native access to what the command line does not grant
# (--illegal-native-access=deny), so a missing --enable-native-access fails here.
#
#   examples/consumer/run.sh [-Dmaven.repo.local=DIR] [other Maven options]
#
# Maven options go to the build of this project (e.g. -o, or the same -Dmaven.repo.local the SDK was
# installed into). Needs a JDK >= 25: JAVA_HOME, else the newest under /usr/lib/jvm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

java_major() { "$1" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p'; }
if [ -z "${JAVA_HOME:-}" ] || [ "$(java_major "$JAVA_HOME/bin/java")" -lt 25 ] 2>/dev/null; then
  JAVA_HOME=""
  for home in /usr/lib/jvm/*; do
    m="$(java_major "$home/bin/java" 2>/dev/null || true)"
    if [ -n "$m" ] && [ "$m" -ge 25 ]; then JAVA_HOME="$home"; fi
  done
  [ -n "$JAVA_HOME" ] || { echo "consumer: no JDK >= 25 (set JAVA_HOME)" >&2; exit 1; }
fi
export JAVA_HOME
java="$JAVA_HOME/bin/java"

# Maven 3.9 on JDK 25 warns about its own use of sun.misc.Unsafe
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
echo "consumer: building $here with $JAVA_HOME"
"$root/mvnw" -B -q -f "$here/pom.xml" "$@" clean package

app_jar="$here/target/talking-avatar-1.0.jar"
args=("$root/examples/media/portrait.png" "$root/examples/media/hello.wav" "$root/models/stableavatar-tiny")
out="$here/target/out"

# the per-platform JavaCPP natives jars (javacpp-…-linux-x86_64.jar, ffmpeg-…-linux-x86_64.jar): on the
# module path nothing requires their modules, so they go on the class path, where JavaCPP finds them
mods="$here/target/modules" natives=""
rm -rf "$mods" && mkdir -p "$mods"
for jar in "$here"/target/lib/*.jar; do
  case "$(basename "$jar")" in
    *-linux-*.jar|*-macosx-*.jar|*-windows-*.jar) natives="${natives:+$natives:}$jar" ;;
    *) cp "$jar" "$mods/" ;;
  esac
done

run() {
  local name="$1"; shift
  echo "consumer: $name"
  rm -rf "$out/$name"
  "$java" --illegal-native-access=deny "$@" "${args[@]}" "$out/$name"
  for f in hello.mp4 tiny.mp4; do
    [ "$(head -c 8 "$out/$name/$f" | tail -c 4)" = "ftyp" ] || { echo "consumer: $name: $f is not an MP4" >&2; exit 1; }
  done
}

run class-path --enable-native-access=ALL-UNNAMED \
  -cp "$here/target/classes:$here/target/lib/*" com.example.talkingavatar.App
run executable-jar -jar "$app_jar"    # Enable-Native-Access: ALL-UNNAMED is in its manifest
run module-path --enable-native-access=dev.avatar4j,com.microsoft.onnxruntime,org.bytedeco.javacpp,org.bytedeco.ffmpeg \
  --module-path "$app_jar:$mods" --class-path "$natives" \
  --module com.example.talkingavatar/com.example.talkingavatar.App
echo "consumer: all three runs OK"
