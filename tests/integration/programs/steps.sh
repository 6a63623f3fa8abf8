#!/bin/sh
# steps.sh - a run that prints `step=i loss=L` for i = 1..steps, sleeping
# between steps. Args as ${args} gives them: --steps=N --sleep=S, other
# --name=value flags are ignored. Every loss is distinct within the run
# (100 - i + x/1000, with x the --x flag if numeric).
#
# Records its pid in $IT_PIDS (the tests' trap stops orphans) and, when
# $IT_PRINTED is a directory, one line "RUN ATTEMPT STEP" per metric line
# printed, appended to $IT_PRINTED/printed.
steps=5
pause=0
x=0
for a in "$@"; do
    case $a in
    --steps=*) steps=${a#--steps=} ;;
    --sleep=*) pause=${a#--sleep=} ;;
    --x=*) x=${a#--x=} ;;
    esac
done
case $x in '' | *[!0-9]*) x=0 ;; esac
[ -n "${IT_PIDS:-}" ] && [ -d "$IT_PIDS" ] && : >"$IT_PIDS/$$"
echo "run ${SWEEP_RUN_ID:-?} attempt ${SWEEP_ATTEMPT:-?} starting: $*"
i=1
while [ "$i" -le "$steps" ]; do
    # the sleep first: a kill mid-run lands between two steps
    if [ "$pause" != 0 ]; then
        sleep "$pause"
    fi
    echo "step=$i loss=$((100 - i)).$((1000 + x))"
    if [ -n "${IT_PRINTED:-}" ] && [ -d "$IT_PRINTED" ]; then
        echo "${SWEEP_RUN_ID:-?} ${SWEEP_ATTEMPT:-?} $i" >>"$IT_PRINTED/printed"
    fi
    i=$((i + 1))
done
echo "done after $steps steps"
[ -n "${IT_PIDS:-}" ] && rm -f "$IT_PIDS/$$"
exit 0
