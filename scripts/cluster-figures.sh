#!/usr/bin/env bash
# lua and watch throughput on the embedded single node and on embedded clusters of 1, 2 and 3 masters, with Redis CPU
# per master, in one run. Usage: scripts/cluster-figures.sh [STOCKSIM] (default: .build/debug/stocksim).
set -euo pipefail
stocksim=${1:-.build/debug/stocksim}
common=(--skus 12 --groups 6 --stock 5000 --workers 4 --quiet --json)
printf '%-8s %-14s %10s %8s  %s\n' strategy target sales/s audit "Redis CPU per master (s)"
for strategy in lua watch; do
    for target in single 1 2 3; do
        if [ "$target" = single ]; then flags=(); name="redis-server"; else flags=(--cluster-masters "$target"); name="cluster of $target"; fi
        "$stocksim" run --strategy "$strategy" "${common[@]}" "${flags[@]}" |
            jq -r --arg s "$strategy" --arg t "$name" \
                '[$s, $t, (.sales_per_second | floor), (if .audit.passed then "passed" else "FAILED" end),
                  ((.masters // []) | map((.redis_cpu_seconds // 0) * 100 | round / 100 | tostring) | join(" "))] | @tsv' |
            awk -F'\t' '{ printf "%-8s %-14s %10s %8s  %s\n", $1, $2, $3, $4, $5 }'
    done
done
