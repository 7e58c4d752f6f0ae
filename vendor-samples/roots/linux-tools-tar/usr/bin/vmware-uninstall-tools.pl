#!/usr/bin/perl -w
# SYNTHETIC sample written for toolsfix tests; not VMware's file.
#
# Copyright (c) 1998-2012 VMware, Inc.  All rights reserved.
#
# Tar package manager for VMware
#
# Installs bin/, lib/ and etc/ of the distrib and then runs the configurator.
# The Solaris driver builds are NOT chosen here: configure_module_solaris in
# bin/vmware-config-tools.pl picks them from LIBDIR/modules/binary/.

use strict;

sub vmware_product { return 'tools-for-solaris'; }

sub vmware_product_name { return 'VMware Tools'; }

sub vmware_version {
  my $buildNr;

  $buildNr = '9.2.2 build-893683';
  return $buildNr;
}

sub main {
  my $action = 'install';
  if ($0 =~ /uninstall/) {
    $action = 'uninstall';
  }
  if (@ARGV) {
    print 'Usage: ' . $0 . "\n";
    return 0;
  }
  # Never touch a system that is not a Solaris guest.
  if ($^O ne 'solaris') {
    print STDERR vmware_product_name() . ' ' . vmware_version()
      . ': refusing to ' . $action . ' on a system that is not Solaris.' . "\n";
    return 1;
  }
  print STDERR 'This synthetic sample does not implement ' . $action . '.' . "\n";
  return 1;
}

exit(main());
