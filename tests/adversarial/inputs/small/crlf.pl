#!/usr/bin/perl -w
# SYNTHETIC sample written for toolsfix tests; not VMware's file.
#
# Copyright (c) 1998-2012 VMware, Inc.  All rights reserved.
#
# Host configurator for VMware
#

use strict;

# External helpers, filled in by main() before anything runs.
my %gHelper;
# Facts about the running system, filled in by system_info().
my %gSystem;
# The tar4 install database: answers and installed files.
my %gDBAnswer;
my %gDBFile;
my $gDBPath = '/etc/vmware-tools/locations';
# Flags for install_file().
my $cFlagTimestamp = 0x1;
my $cFlagConfig = 0x2;

sub vmware_product { return 'tools-for-solaris'; }

sub vmware_product_name { return 'VMware Tools'; }

sub vmware_version {
  my $buildNr;

  $buildNr = '9.2.2 build-893683';
  return $buildNr;
}

# Quote a string for /bin/sh.
sub shell_string {
  my $string = shift;
  $string =~ s/'/'"'"'/g;
  return "'" . $string . "'";
}

# Run a command and return its standard output.
sub direct_command {
  my $command = shift;
  return `$command`;
}

# Read the install database (an append-only journal: later lines win).
sub db_load {
  undef %gDBAnswer;
  undef %gDBFile;
  open(my $db, '<', $gDBPath) or return 0;
  while (defined(my $line = <$db>)) {
    chomp($line);
    if ($line =~ /^answer (\S+) (.+)$/) {
      $gDBAnswer{$1} = $2;
    } elsif ($line =~ /^remove_answer (\S+)$/) {
      delete $gDBAnswer{$1};
    } elsif ($line =~ /^file (\S+) (\d+)$/) {
      $gDBFile{$1} = $2;
    } elsif ($line =~ /^file (\S+)$/) {
      $gDBFile{$1} = 0;
    } elsif ($line =~ /^remove_file (\S+)$/) {
      delete $gDBFile{$1};
    }
  }
  close($db);
  return 1;
}

sub db_append {
  my $line = shift;
  open(my $db, '>>', $gDBPath) or die 'Unable to append to ' . $gDBPath . ': ' . $! . "\n";
  print $db $line . "\n";
  close($db);
}

sub db_add_answer {
  my ($id, $value) = @_;
  $gDBAnswer{$id} = $value;
  db_append('answer ' . $id . ' ' . $value);
}

sub db_get_answer {
  my $id = shift;
  if (not defined($gDBAnswer{$id})) {
    die 'The install database has no answer for ' . $id . "\n";
  }
  return $gDBAnswer{$id};
}

sub db_add_file {
  my ($file, $flags) = @_;
  if ($flags & $cFlagTimestamp) {
    my @st = stat($file);
    $gDBFile{$file} = $st[9];
    db_append('file ' . $file . ' ' . $st[9]);
  } else {
    $gDBFile{$file} = 0;
    db_append('file ' . $file);
  }
}

# Copy $src to $dst, applying the substitutions of %$patchRef to every line,
# and record $dst in the install database.
sub install_file {
  my ($src, $dst, $patchRef, $flags) = @_;
  open(my $in, '<', $src) or die 'Unable to open ' . $src . ': ' . $! . "\n";
  binmode($in);
  if (-e $dst) {
    unlink($dst) or die 'Unable to remove ' . $dst . ': ' . $! . "\n";
  }
  open(my $out, '>', $dst) or die 'Unable to create ' . $dst . ': ' . $! . "\n";
  binmode($out);
  while (defined(my $line = <$in>)) {
    foreach my $key (keys(%$patchRef)) {
      $line =~ s/$key/$patchRef->{$key}/g;
    }
    print $out $line;
  }
  close($in);
  close($out);
  my @st = stat($src);
  chmod($st[2] & 07777, $dst);
  db_add_file($dst, $flags);
}

sub system_info {
  my $uname = shell_string($gHelper{'uname'});
  $gSystem{'system'} = direct_command($uname . ' -s');
  $gSystem{'uts_release'} = direct_command($uname . ' -r');
  $gSystem{'uts_version'} = direct_command($uname . ' -v');
  chomp($gSystem{'system'});
  chomp($gSystem{'uts_release'});
  chomp($gSystem{'uts_version'});
}

# Returns the major and minor numbers of the SunOS release (5.11 is Solaris 11).
sub solaris_os_version {
  my $solVersion = direct_command(shell_string($gHelper{'uname'}) . ' -r');
  chomp($solVersion);
  my ($major, $minor) = split /\./, $solVersion;
  return ($major, $minor);
}

# Returns the kernel version string (uname -v), e.g. 11.4.0.15.0 or snv_111b.
sub solaris_os_name {
  my $solName = direct_command(shell_string($gHelper{'uname'}) . ' -v');
  chomp($solName);
  return $solName;
}

sub solaris_10_or_greater {
  my ($major, $minor) = solaris_os_version();
  my $result = 'no';
  if ($major > 5 || ($major == 5 &&  $minor >= 10)) {
    $result = 'yes';
  }
  return $result;
}

sub solaris_11_or_greater {
  my ($major, $minor) = solaris_os_version();
  my $result = 'no';
  if ($major > 5 || ($major == 5 &&  $minor >= 11)) {
    $result = 'yes';
  }
  return $result;
}

# OpenSolaris reports SunOS 5.11 with an snv_ kernel version.
sub solaris_is_opensolaris {
  my ($major, $minor) = solaris_os_version();
  my $name = solaris_os_name();
  if ($minor == 11 && $name =~ /^snv/) {
    return 'yes';
  }
  return 'no';
}

# Returns the M/YY token of /etc/release (Solaris 10 update), or '' if there is none.
sub solaris_release {
  my $release = '';
  if (open(my $fh, '<', '/etc/release')) {
    my $line = <$fh>;
    close($fh);
    if (defined($line) && $line =~ m|\s(\d{1,2}/\d\d)\s|) {
      $release = $1;
    }
  }
  return $release;
}

# Is $driver already bound to $alias in /etc/driver_aliases?
sub solaris_driver_configured {
  my ($driver, $alias) = @_;
  my $result = 'no';
  if (open(my $aliases, '<', '/etc/driver_aliases')) {
    while (defined(my $line = <$aliases>)) {
      if ($line =~ /^\s*\Q$driver\E\s+"?\Q$alias\E"?\s*$/) {
        $result = 'yes';
        last;
      }
    }
    close($aliases);
  }
  return $result;
}

sub configure_module_solaris {
  my $module = shift;
  my %patch;
  my $dir = db_get_answer('LIBDIR') . '/modules/binary/';
  my ($major, $minor) = solaris_os_version();
  my $os_name = solaris_os_name();
  my $osDir;
  my $osFlavorDir;
  my $currentMinor = 10;   # The most recent version we build the drivers for

  if (solaris_10_or_greater() ne "yes") {
    print "VMware Tools for Solaris is only supported on Solaris 10 and later.\n";
    return 'no';
  }

  if ($minor < $currentMinor) {
    $osDir = $minor;
  } else {
    $osDir = $currentMinor;
  }

  if ($os_name eq 'snv_111b') {
     $osFlavorDir = 2009.06;
  } else {
     $osFlavorDir = $osDir;
  }

  if ($module eq 'vmmemctl') {
    if ($minor == 11 && solaris_is_opensolaris() ne 'yes') {
       $osDir = $minor;
    }
    undef %patch;
    install_file($dir . $osDir . '/vmmemctl', '/kernel/drv/vmmemctl',
                 \%patch, $cFlagTimestamp);
    undef %patch;
    install_file($dir . $osDir . '_64/vmmemctl', '/kernel/drv/amd64/vmmemctl',
                 \%patch, $cFlagTimestamp);
    db_add_answer('VMMEMCTL_CONFED', 'yes');
    return 'yes';
  }

  if ($module eq 'vmhgfs') {
    my $newMinor;
    # these modules have their own Solaris 11 builds
    if ($minor == 11) {
      $newMinor = $minor;
    } else {
      $newMinor = $osDir;
    }
    undef %patch;
    install_file($dir . $newMinor . '/' . $module, '/kernel/drv/' . $module,
                 \%patch, $cFlagTimestamp);
    undef %patch;
    install_file($dir . $newMinor . '_64/' . $module, '/kernel/drv/amd64/' . $module,
                 \%patch, $cFlagTimestamp);
    return 'yes';
  }

  if ($module eq 'vmblock') {
    my $newMinor;
    # these modules have their own Solaris 11 builds
    if ($minor == 11) {
      $newMinor = $minor;
    } else {
      $newMinor = $osDir;
    }
    undef %patch;
    install_file($dir . $newMinor . '/' . $module, '/kernel/drv/' . $module,
                 \%patch, $cFlagTimestamp);
    undef %patch;
    install_file($dir . $newMinor . '_64/' . $module, '/kernel/drv/amd64/' . $module,
                 \%patch, $cFlagTimestamp);
    return 'yes';
  }

  if ($module eq 'vmxnet') {
    # unload a running copy so that the new one is picked up
    system(shell_string($gHelper{'update_drv'}) . ' -f vmxnet >/dev/null 2>&1');
    undef %patch;
    install_file($dir . $osFlavorDir . '/vmxnet', '/kernel/drv/vmxnet', \%patch, $cFlagTimestamp);
    undef %patch;
    install_file($dir . $osFlavorDir . '_64/vmxnet', '/kernel/drv/amd64/vmxnet', \%patch, $cFlagTimestamp);
    if (solaris_driver_configured('vmxnet', 'pci15ad,720') eq 'no') {
      system(shell_string($gHelper{'add_drv'})
             . " -i '\"pci15ad,720\"' vmxnet >/dev/null 2>&1");
    }
    db_add_answer('VMXNET_CONFED', 'yes');
    return 'yes';
  }

  if ($module eq 'vmxnet3s') {
    my $result = 'no';
    my $options = '';
    # First copy vmxnet3s.conf to /kernel/drv/
    undef %patch;
    install_file($dir . $osFlavorDir . '/vmxnet3s.conf', '/kernel/drv/vmxnet3s.conf',
                 \%patch, $cFlagTimestamp);
    undef %patch;
    install_file($dir . $osFlavorDir . '/vmxnet3s', '/kernel/drv/vmxnet3s',
                 \%patch, $cFlagTimestamp);
    undef %patch;
    install_file($dir . $osFlavorDir . '_64/vmxnet3s', '/kernel/drv/amd64/vmxnet3s',
                 \%patch, $cFlagTimestamp);
    $options = ' -n';
    if (solaris_driver_configured('vmxnet3s', 'pciex15ad,7b0') eq 'no') {
      system(shell_string($gHelper{'add_drv'}) . $options
             . " -i '\"pciex15ad,7b0\"' vmxnet3s >/dev/null 2>&1");
    }
    $result = 'yes';
    db_add_answer('VMXNET3S_CONFED', $result);
    return $result;
  }

  if ($module eq 'vmci') {
    undef %patch;
    install_file($dir . $osDir . '/vmci.conf', '/kernel/drv/vmci.conf',
                 \%patch, $cFlagTimestamp);
    undef %patch;
    install_file($dir . $osDir . '/vmci', '/kernel/drv/vmci',
                 \%patch, $cFlagTimestamp);
    undef %patch;
    install_file($dir . $osDir . '_64/vmci', '/kernel/drv/amd64/vmci',
                 \%patch, $cFlagTimestamp);
    return 'yes';
  }

  return 'no';
}

# The Solaris kernel modules this release configures (vmci is never configured here).
sub configure_solaris_drivers {
  my $module;
  foreach $module ('vmxnet3s', 'vmxnet', 'vmmemctl', 'vmhgfs', 'vmblock') {
    my $done = configure_module_solaris($module);
    print 'Configured ' . $module . ': ' . $done . "\n";
  }
  print 'Reboot the guest (or reload the drivers) to use the new modules.' . "\n";
}

sub usage {
  print 'Usage: ' . $0 . ' [--default]' . "\n";
  print '  Configures the VMware Tools kernel modules of a Solaris guest.' . "\n";
}

sub main {
  my $arg;
  foreach $arg (@ARGV) {
    if ($arg ne '-d' && $arg ne '--default') {
      usage();
      return 0;
    }
  }
  # Never touch a system that is not a Solaris guest.
  if ($^O ne 'solaris') {
    print STDERR vmware_product_name() . ' for Solaris only runs on Solaris guests.' . "\n";
    return 1;
  }
  if ($> != 0) {
    print STDERR 'Please re-run this program as the super user.' . "\n";
    return 1;
  }
  $gHelper{'uname'} = '/usr/bin/uname';
  $gHelper{'add_drv'} = '/usr/sbin/add_drv';
  $gHelper{'update_drv'} = '/usr/sbin/update_drv';
  db_load();
  system_info();
  if ($gSystem{'system'} ne 'SunOS') {
    print STDERR 'This is not a SunOS kernel.' . "\n";
    return 1;
  }
  configure_solaris_drivers();
  return 0;
}

exit(main());
