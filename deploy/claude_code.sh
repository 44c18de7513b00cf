#!/bin/sh
# Registering rvr-mcp with Claude Code (`claude mcp add`); run the line you need.

# The robot on a Raspberry Pi, over ssh (stdio; needs key login: ssh-copy-id pi@robot):
claude mcp add rvr -- ssh -T -o BatchMode=yes pi@robot rvr-mcp

# This machine: the bundle on the built-in simulator (or RVR_SERIAL_PORT=/dev/ttyUSB0 for a robot
# on a USB serial adapter):
# claude mcp add rvr-local -e RVR_SERIAL_PORT=sim -- deno run -A --v8-flags=--max-semi-space-size=1,--max-opt=1,--optimize-for-size /path/to/rvr-mcp/dist/rvr-mcp.js

# The Pi running deploy/rvr-mcp.service (Streamable HTTP with an API key):
# claude mcp add --transport http rvr-http http://robot:3000/mcp --header "Authorization: Bearer $RVR_API_KEY"
