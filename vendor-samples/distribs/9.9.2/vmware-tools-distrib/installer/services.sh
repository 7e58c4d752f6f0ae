#!/bin/sh
# SYNTHETIC sample written for toolsfix tests; not VMware's file.
# Placeholder for the installer's service helper; it does nothing.
exit 0
