# The walkthrough's index.sh: log the event, answer "Echoing request: '<event>'".
# The answer is echoed quoted: the walkthrough's unquoted `echo $RESPONSE` would squeeze
# spaces and expand `*` in the event.
function main_handler () {
  EVENT_DATA=$1
  echo "$EVENT_DATA" 1>&2;
  RESPONSE="Echoing request: '$EVENT_DATA'"
  echo "$RESPONSE"
}
