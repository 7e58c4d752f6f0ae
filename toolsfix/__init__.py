"""toolsfix: make VMware Tools installs on Solaris guests trustworthy."""

__version__ = "0.1.0"
