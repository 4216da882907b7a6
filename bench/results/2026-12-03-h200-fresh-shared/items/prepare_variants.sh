#!/usr/bin/env bash
# prepvar.sh OUTROOT "variant:ENV=A ENV=B" ... -- shapes from SHAPES (name cp seq heads kv dim dtype layout mask extra)
set -euo pipefail
gen=/work/main/build/bin/ringattn-gen
root=$1; shift
for var in "$@"; do
  name=${var%%:*}; envs=${var#*:}
  while read -r line; do
    [ -z "$line" ] && continue
    read -r sname cp seq heads kv dim dtype layout mask extra <<<"$line"
    d=$root/$name/$sname
    rm -rf "$d"
    env $envs "$gen" --cp "$cp" --seq "$seq" --heads "$heads" --kv-heads "$kv" --head-dim "$dim" --dtype "$dtype" --layout "$layout" "$mask" $extra -o "$d" > /dev/null
    find "$d" -mindepth 1 -not -name manifest.json -not -name kernels.cubin -exec rm -rf {} + 
  done <<<"$SHAPES"
done
