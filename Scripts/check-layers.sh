#!/usr/bin/env bash
# Checks Docs/Architecture.md's layer table on the layers that share the Strata target, where the compiler
# cannot: a file in one layer folder may name only the types of its own layer and the layers it depends on.
#
#   Scripts/check-layers.sh [ROOT]     ROOT defaults to Sources/Strata
#
# Every top-level type a layer declares (class, struct, enum, protocol, actor, typealias; not private or
# fileprivate ones) is one of its names. A file fails when, outside comments and string literals, it names as a
# word a type of a layer it may not use. Every Swift file must sit in a layer folder, so none escapes the check.
# Prints each violation as `file:line: Layer uses Type (declared in Other)` and exits 1 if there is any.
set -euo pipefail

root="${1:-Sources/Strata}"

# Each layer and the layers below it that it may use (the table's "depends on", closed transitively).
declare -A allowed=(
  [Kernels]=""
  [Tensor]="Kernels"
  [Autograd]="Kernels Tensor"
  [Ops]="Kernels Tensor Autograd"
  [NN]="Kernels Tensor Autograd Ops"
  [Optim]="Kernels Tensor Autograd Ops NN"
  [IO]="Kernels Tensor"
  [Data]="Kernels Tensor"
  [DataParallel]="Kernels Tensor Autograd Ops NN"
)

status=0
[ -d "$root" ] || { echo "check-layers: no directory $root"; exit 1; }

# Every Swift file is in a known layer folder.
while IFS= read -r file; do
  layer="${file#"$root"/}"; layer="${layer%%/*}"
  if [ -z "${allowed[$layer]+set}" ] || [ "$layer" = "${file#"$root"/}" ]; then
    echo "check-layers: $file is not in a layer folder (${!allowed[*]})"; status=1
  fi
done < <(find "$root" -name '*.swift' | sort)

# The names each layer declares at the top level.
declare -A owner=()
for layer in "${!allowed[@]}"; do
  [ -d "$root/$layer" ] || continue
  while IFS= read -r name; do
    [ -n "$name" ] && owner[$name]="$layer"
  done < <(grep -rhoE --include='*.swift' \
      '^((public|internal|open|final|indirect|nonisolated) +)*(class|struct|enum|protocol|actor|typealias) +[A-Za-z_][A-Za-z0-9_]*' \
      "$root/$layer" | awk '{ print $NF }' | sort -u)
done

# Code without comments and string literals, one output line per input line (so line numbers hold).
strip() {
  sed -E -e 's#"([^"\\]|\\.)*"#""#g' -e 's#//.*$##' "$1"
}

for layer in "${!allowed[@]}"; do
  [ -d "$root/$layer" ] || continue
  forbidden=()
  for name in "${!owner[@]}"; do
    other="${owner[$name]}"
    [ "$other" = "$layer" ] && continue
    case " ${allowed[$layer]} " in *" $other "*) continue ;; esac
    forbidden+=("$name")
  done
  [ ${#forbidden[@]} -eq 0 ] && continue
  pattern="\\b($(IFS='|'; echo "${forbidden[*]}"))\\b"
  while IFS= read -r file; do
    while IFS=: read -r line text; do
      for name in $(grep -oE "$pattern" <<< "$text" | sort -u); do
        echo "$file:$line: $layer uses $name (declared in ${owner[$name]})"
        status=1
      done
    done < <(strip "$file" | grep -nE "$pattern" || true)
  done < <(find "$root/$layer" -name '*.swift' | sort)
done

exit $status
