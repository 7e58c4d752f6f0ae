#!/bin/sh
# SYNTHETIC sample written for toolsfix tests; not VMware's file.
# Tells an installer which kind of package this is and its database format.
case "$1" in
  kind)
    echo tar
    ;;
  version)
    echo 4
    ;;
  *)
    exit 1
    ;;
esac
exit 0
