#!/bin/sh
# SYNTHETIC sample written for toolsfix tests; not VMware's file.
# Runs the real installer with the first perl on the PATH.
dir=`dirname "$0"`
exec perl "$dir/vmware-install.real.pl" "$@"
