#!/usr/bin/env python3
"""Generate the SYNTHETIC VMware Tools for Solaris samples used to test toolsfix.

Real VMware Tools files are proprietary, so the analyser is tested against original, minimal
Perl written for toolsfix that reproduces the *documented* behaviour and shape of the real
configurator (see vendor-samples/README.md).  Everything here is deterministic: running the
generator twice, on any day and in any time zone, gives byte-identical output, which is what
``--check`` relies on to catch drift between this script and the committed samples.

Usage: ``python vendor-samples/generate.py [--out DIR] [--check]``
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import gzip
import hashlib
import importlib
import io
import json
import shutil
import stat
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

HERE = Path(__file__).resolve().parent
GENERATED_DIRS = ("distribs", "archives", "scripts")
METADATA = "generated.json"  # elfgen toolchain + sha256 of every generated file
MAX_LISTED = 40  # --check lists at most this many differences
DISTRIB = "vmware-tools-distrib"
# 2015-01-01 00:00:00 UTC: one fixed timestamp for tar entries, FILES and the ISO.
EPOCH = 1420070400
LIBDIR_DEFAULT = "/usr/lib/vmware-tools"
DAMAGE = "***REMOVED***"
OS_DIRS = ("10", "10_64", "11", "11_64", "2009.06", "2009.06_64")


# --------------------------------------------------------------------------------------------
# Knowledge per release: ONE declarative table.  Every difference between the generated
# configurators comes from these switches; the Perl itself exists once, in the template below.
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Release:
    """What one VMware Tools release's Solaris configurator looks like (documented facts)."""

    version: str
    build: int
    copyright_end: int
    current_minor: int  # 10 = the driver-selection bug, 11 = VMware's fix
    osdir_comment: bool  # fixed releases add a comment above the min(minor, currentMinor)
    vmmemctl_s11_override: bool  # 9.2.2 / 8.6.17 on: vmmemctl forced to 11 on non-snv 5.11
    s10u1_skip: str  # "" none; "release": `$release eq '1/06'`; "helper": solaris_10u1()
    combined_hgfs_vmblock: bool  # 9.9.2 on: one branch for vmhgfs and vmblock
    vmxnet: bool  # 10.3.10 dropped the vmxnet branch
    vmci: bool  # dead vmci branch (8.x, 9.2.2)
    add_drv_n_before_11_only: bool  # False: vmxnet3s add_drv always gets -n
    guard_uses_product_name: bool  # 10.3.x style guard message
    sh_install_wrapper: bool  # 10.x: vmware-install.pl is sh running vmware-install.real.pl


RELEASES: dict[str, Release] = {
    r.version: r
    for r in (
        Release(
            "8.6.0",
            425873,
            2011,
            current_minor=10,
            osdir_comment=False,
            vmmemctl_s11_override=False,
            s10u1_skip="",
            combined_hgfs_vmblock=False,
            vmxnet=True,
            vmci=True,
            add_drv_n_before_11_only=False,
            guard_uses_product_name=False,
            sh_install_wrapper=False,
        ),
        Release(
            "9.2.2",
            893683,
            2012,
            current_minor=10,
            osdir_comment=False,
            vmmemctl_s11_override=True,
            s10u1_skip="",
            combined_hgfs_vmblock=False,
            vmxnet=True,
            vmci=True,
            add_drv_n_before_11_only=False,
            guard_uses_product_name=False,
            sh_install_wrapper=False,
        ),
        Release(
            "9.9.2",
            2496486,
            2015,
            current_minor=11,
            osdir_comment=True,
            vmmemctl_s11_override=True,
            s10u1_skip="release",
            combined_hgfs_vmblock=True,
            vmxnet=True,
            vmci=False,
            add_drv_n_before_11_only=True,
            guard_uses_product_name=False,
            sh_install_wrapper=False,
        ),
        Release(
            "10.3.10",
            12406962,
            2019,
            current_minor=11,
            osdir_comment=True,
            vmmemctl_s11_override=True,
            s10u1_skip="helper",
            combined_hgfs_vmblock=True,
            vmxnet=False,
            vmci=False,
            add_drv_n_before_11_only=True,
            guard_uses_product_name=True,
            sh_install_wrapper=True,
        ),
    )
}


@dataclass(frozen=True)
class Variant:
    """One generated distrib: a release plus the damage or edits a real file may carry."""

    name: str
    release: str
    models: str  # one line for the README: what real-world state this stands for
    flip_comparison: bool = False  # the 2013 blog hand patch: `<` -> `>`, 10 kept
    crlf: bool = False  # configurator saved with CRLF line endings
    damaged: bool = False  # history cleaner replaced comment `#` with ***REMOVED***
    drop_11_dirs: bool = False  # no 11/11_64 driver builds shipped
    iso: bool = False  # also build solaris-<name>.iso
    override_cap: Optional[int] = None  # a second `$currentMinor = N;` right after the cap
    script_only: bool = False  # only scripts/<name>.pl (no distrib, tarball or ISO)


VARIANTS: tuple[Variant, ...] = (
    Variant("8.6.0", "8.6.0", "buggy (currentMinor 10), no vmmemctl Solaris 11 override"),
    Variant("9.2.2", "9.2.2", "buggy (currentMinor 10), vmmemctl override present", iso=True),
    Variant("9.9.2", "9.9.2", "fixed (currentMinor 11 + comment line), $release style 10u1 check"),
    Variant("10.3.10", "10.3.10", "fixed, no vmxnet branch, solaris_10u1() style", iso=True),
    Variant(
        "blog-hand-patched",
        "9.2.2",
        "9.2.2 hand-patched per the 2013 blog: `>`, 10 kept",
        flip_comparison=True,
    ),
    Variant("crlf", "9.2.2", "9.2.2 configurator with CRLF line endings", crlf=True),
    Variant(
        "damaged",
        "9.2.2",
        "9.2.2 with comment `#` replaced by ***REMOVED*** (fails perl -c)",
        damaged=True,
    ),
    Variant("9.2.2-no11", "9.2.2", "9.2.2 shipped without 11/11_64 driver dirs", drop_11_dirs=True),
    Variant(
        "9.2.2-override",
        "9.2.2",
        "9.2.2 plus `$currentMinor = 11;   # override` after the "
        "cap: the code picks 11, a reader of the first assignment sees 10",
        override_cap=11,
        script_only=True,
    ),
)


# --------------------------------------------------------------------------------------------
# Perl template.  Original code written for toolsfix.  Rule kept by _check_comment_hashes():
# a `#` in this text only ever starts a comment, so the "damaged" transform is exact.
# --------------------------------------------------------------------------------------------
def _header(rel: Release, program: str) -> str:
    return (
        "#!/usr/bin/perl -w\n"
        "# SYNTHETIC sample written for toolsfix tests; not VMware's file.\n"
        "#\n"
        f"# Copyright (c) 1998-{rel.copyright_end} VMware, Inc.  All rights reserved.\n"
        "#\n"
        f"# {program}\n"
        "#\n"
    )


def _identity(rel: Release) -> str:
    return (
        "sub vmware_product { return 'tools-for-solaris'; }\n"
        "\n"
        "sub vmware_product_name { return 'VMware Tools'; }\n"
        "\n"
        "sub vmware_version {\n"
        "  my $buildNr;\n"
        "\n"
        f"  $buildNr = '{rel.version} build-{rel.build}';\n"
        "  return $buildNr;\n"
        "}\n"
    )


_CONFIG_GLOBALS = r"""
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
"""

_CONFIG_UTILS = r"""
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
"""

_SOLARIS_HELPERS_START = r"""
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
"""

_SOLARIS_10U1 = r"""
# Solaris 10 1/06 (update 1) cannot load our vmmemctl.
sub solaris_10u1 {
  if (solaris_release() eq '1/06') {
    return 'yes';
  }
  return 'no';
}
"""

_SOLARIS_HELPERS_END = r"""
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
"""


def _install(src: str, dst: str, *, one_line: bool = False) -> list[str]:
    """One `install_file` call shaped like VMware's: long calls wrap under the first argument."""
    call = "    install_file(" + src + ", " + dst + ","
    if one_line:
        return ["    undef %patch;", call + r" \%patch, $cFlagTimestamp);"]
    indent = " " * len("    install_file(")
    return ["    undef %patch;", call, indent + r"\%patch, $cFlagTimestamp);"]


def _configure_module_solaris(rel: Release) -> str:
    """The function with the bug, assembled from the release's feature switches."""
    cm = str(rel.current_minor)
    out = [
        "sub configure_module_solaris {",
        "  my $module = shift;",
        "  my %patch;",
        "  my $dir = db_get_answer('LIBDIR') . '/modules/binary/';",
        "  my ($major, $minor) = solaris_os_version();",
        "  my $os_name = solaris_os_name();",
    ]
    if rel.s10u1_skip:
        out.append("  my $release = solaris_release();")
    out += [
        "  my $osDir;",
        "  my $osFlavorDir;",
        "  my $currentMinor = " + cm + ";   # The most recent version we build the drivers for",
        "",
        '  if (solaris_10_or_greater() ne "yes") {',
    ]
    if rel.guard_uses_product_name:
        out.append(
            '    print vmware_product_name() . " for Solaris is only supported on Solaris 10'
            ' and later.\\n";'
        )
    else:
        out.append(
            '    print "VMware Tools for Solaris is only supported on Solaris 10 and later.\\n";'
        )
    out += ["    return 'no';", "  }", ""]
    if rel.osdir_comment:
        out.append("  # set osDir to number no larger than currentMinor:")
    out += [
        "  if ($minor < $currentMinor) {",
        "    $osDir = $minor;",
        "  } else {",
        "    $osDir = $currentMinor;",
        "  }",
        "",
        "  if ($os_name eq 'snv_111b') {",
        "     $osFlavorDir = 2009.06;",
        "  } else {",
        "     $osFlavorDir = $osDir;",
        "  }",
        "",
        "  if ($module eq 'vmmemctl') {",
    ]
    if rel.s10u1_skip:
        cond = "$release eq '1/06'" if rel.s10u1_skip == "release" else "solaris_10u1() eq 'yes'"
        out += [
            "    # vmmemctl does not work on Solaris 10 update 1",
            "    if (" + cond + ") {",
            "      db_add_answer('VMMEMCTL_CONFED', 'no');",
            "      return 'yes';",
            "    }",
        ]
    if rel.vmmemctl_s11_override:
        out += [
            "    if ($minor == 11 && solaris_is_opensolaris() ne 'yes') {",
            "       $osDir = $minor;",
            "    }",
        ]
    out += _install("$dir . $osDir . '/vmmemctl'", "'/kernel/drv/vmmemctl'")
    out += _install("$dir . $osDir . '_64/vmmemctl'", "'/kernel/drv/amd64/vmmemctl'")
    out += ["    db_add_answer('VMMEMCTL_CONFED', 'yes');", "    return 'yes';", "  }", ""]

    def hgfs_like(cond: str) -> list[str]:
        lines = [
            "  if (" + cond + ") {",
            "    my $newMinor;",
            "    # these modules have their own Solaris 11 builds",
            "    if ($minor == 11) {",
            "      $newMinor = $minor;",
            "    } else {",
            "      $newMinor = $osDir;",
            "    }",
        ]
        lines += _install("$dir . $newMinor . '/' . $module", "'/kernel/drv/' . $module")
        lines += _install("$dir . $newMinor . '_64/' . $module", "'/kernel/drv/amd64/' . $module")
        return [*lines, "    return 'yes';", "  }", ""]

    if rel.combined_hgfs_vmblock:
        out += hgfs_like("$module eq 'vmhgfs' || $module eq 'vmblock'")
    else:
        out += hgfs_like("$module eq 'vmhgfs'")
        out += hgfs_like("$module eq 'vmblock'")

    if rel.vmxnet:
        out += [
            "  if ($module eq 'vmxnet') {",
            "    # unload a running copy so that the new one is picked up",
            "    system(shell_string($gHelper{'update_drv'}) . ' -f vmxnet >/dev/null 2>&1');",
        ]
        out += _install("$dir . $osFlavorDir . '/vmxnet'", "'/kernel/drv/vmxnet'", one_line=True)
        out += _install(
            "$dir . $osFlavorDir . '_64/vmxnet'", "'/kernel/drv/amd64/vmxnet'", one_line=True
        )
        out += [
            "    if (solaris_driver_configured('vmxnet', 'pci15ad,720') eq 'no') {",
            "      system(shell_string($gHelper{'add_drv'})",
            '             . " -i \'\\"pci15ad,720\\"\' vmxnet >/dev/null 2>&1");',
            "    }",
            "    db_add_answer('VMXNET_CONFED', 'yes');",
            "    return 'yes';",
            "  }",
            "",
        ]

    out += [
        "  if ($module eq 'vmxnet3s') {",
        "    my $result = 'no';",
        "    my $options = '';",
        "    # First copy vmxnet3s.conf to /kernel/drv/",
    ]
    out += _install("$dir . $osFlavorDir . '/vmxnet3s.conf'", "'/kernel/drv/vmxnet3s.conf'")
    out += _install("$dir . $osFlavorDir . '/vmxnet3s'", "'/kernel/drv/vmxnet3s'")
    out += _install("$dir . $osFlavorDir . '_64/vmxnet3s'", "'/kernel/drv/amd64/vmxnet3s'")
    if rel.add_drv_n_before_11_only:
        out += [
            "    unless(solaris_11_or_greater() eq 'yes') {",
            "      $options = ' -n';",
            "    }",
        ]
    else:
        out += ["    $options = ' -n';"]
    out += [
        "    if (solaris_driver_configured('vmxnet3s', 'pciex15ad,7b0') eq 'no') {",
        "      system(shell_string($gHelper{'add_drv'}) . $options",
        '             . " -i \'\\"pciex15ad,7b0\\"\' vmxnet3s >/dev/null 2>&1");',
        "    }",
        "    $result = 'yes';",
        "    db_add_answer('VMXNET3S_CONFED', $result);",
        "    return $result;",
        "  }",
        "",
    ]
    if rel.vmci:
        out += ["  if ($module eq 'vmci') {"]
        out += _install("$dir . $osDir . '/vmci.conf'", "'/kernel/drv/vmci.conf'")
        out += _install("$dir . $osDir . '/vmci'", "'/kernel/drv/vmci'")
        out += _install("$dir . $osDir . '_64/vmci'", "'/kernel/drv/amd64/vmci'")
        out += ["    return 'yes';", "  }", ""]
    out += ["  return 'no';", "}"]
    return "\n".join(out) + "\n"


def _config_main(rel: Release) -> str:
    modules = ["vmxnet3s", *(["vmxnet"] if rel.vmxnet else []), "vmmemctl", "vmhgfs", "vmblock"]
    module_list = ", ".join("'" + m + "'" for m in modules)
    return (
        r"""
# The Solaris kernel modules this release configures (vmci is never configured here).
sub configure_solaris_drivers {
  my $module;
  foreach $module ("""
        + module_list
        + r""") {
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
"""
    )


def configurator(rel: Release) -> str:
    """bin/vmware-config-tools.pl for ``rel`` (LF line endings, undamaged)."""
    helpers = _SOLARIS_HELPERS_START
    if rel.s10u1_skip == "helper":
        helpers += _SOLARIS_10U1
    helpers += _SOLARIS_HELPERS_END
    return (
        _header(rel, "Host configurator for VMware")
        + _CONFIG_GLOBALS
        + "\n"
        + _identity(rel)
        + _CONFIG_UTILS
        + helpers
        + "\n"
        + _configure_module_solaris(rel)
        + _config_main(rel)
    )


def package_manager(rel: Release) -> str:
    """bin/vmware-uninstall-tools.pl: a tiny stand-in for VMware's tar package manager."""
    return (
        _header(rel, "Tar package manager for VMware")
        + r"""# Installs bin/, lib/ and etc/ of the distrib and then runs the configurator.
# The Solaris driver builds are NOT chosen here: configure_module_solaris in
# bin/vmware-config-tools.pl picks them from LIBDIR/modules/binary/.

use strict;

"""
        + _identity(rel)
        + r"""
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
"""
    )


def install_wrapper() -> str:
    """10.x vmware-install.pl: a small sh wrapper around vmware-install.real.pl."""
    return (
        "#!/bin/sh\n"
        "# SYNTHETIC sample written for toolsfix tests; not VMware's file.\n"
        "# Runs the real installer with the first perl on the PATH.\n"
        'dir=`dirname "$0"`\n'
        'exec perl "$dir/vmware-install.real.pl" "$@"\n'
    )


def _check_comment_hashes(text: str) -> None:
    """Guard the template rule that makes the "damaged" transform exact."""
    for number, line in enumerate(text.split("\n"), 1):
        pos = line.find("#")
        if pos > 0 and not line[pos - 1].isspace():
            raise AssertionError(f"line {number}: '#' that does not start a comment: {line!r}")


def damage(text: str) -> str:
    """Replace every `#` that starts a comment, like the history cleaner did to public copies."""
    _check_comment_hashes(text)
    return "\n".join(
        line.replace("#", DAMAGE, 1) if "#" in line else line for line in text.split("\n")
    )


FLIP_FROM = "  if ($minor < $currentMinor) {"
FLIP_TO = "  if ($minor > $currentMinor) {"
CAP_LINE = "  my $currentMinor = 10;   # The most recent version we build the drivers for\n"


def variant_configurator(variant: Variant) -> bytes:
    """The configurator bytes of ``variant`` (release template + the variant's edits)."""
    text = configurator(RELEASES[variant.release])
    if variant.flip_comparison:
        if text.count(FLIP_FROM) != 1:
            raise AssertionError("comparison to flip not found exactly once")
        text = text.replace(FLIP_FROM, FLIP_TO)
    if variant.override_cap is not None:
        if text.count(CAP_LINE) != 1:
            raise AssertionError("the $currentMinor cap line not found exactly once")
        override = "  $currentMinor = " + str(variant.override_cap) + ";   # override\n"
        text = text.replace(CAP_LINE, CAP_LINE + override)
    if variant.damaged:
        text = damage(text)
    if variant.crlf:
        text = text.replace("\n", "\r\n")
    return text.encode("ascii")


# --------------------------------------------------------------------------------------------
# Other distrib files
# --------------------------------------------------------------------------------------------
def vmxnet3s_conf() -> bytes:
    """The shipped vmxnet3s.conf shape: comments, ring sizes, EnableLSO, MTU commented out."""

    def values(value: int) -> str:
        return ",".join([str(value)] * 10)

    text = (
        "#\n"
        "# SYNTHETIC vmxnet3s.conf written for toolsfix tests; not VMware's file.\n"
        "#\n"
        "# Driver properties of the VMware vmxnet3 NIC.  Each property holds one\n"
        "# comma-separated value per instance: the first value is for vmxnet3s0,\n"
        "# the second for vmxnet3s1, and so on.  Changes apply on driver reload.\n"
        "#\n"
        "# TxRingSize, RxRingSize: descriptors per ring, 32 to 4096, multiple of 32.\n"
        f"TxRingSize={values(256)};\n"
        f"RxRingSize={values(256)};\n"
        "#\n"
        "# RxBufPoolLimit: receive buffers kept for reuse, 0 to 10 x RxRingSize.\n"
        f"RxBufPoolLimit={values(512)};\n"
        "#\n"
        "# EnableLSO: 1 offers large send offload (TCP/IPv4) to the stack, 0 does not.\n"
        "# Set it to 0 when TCP throughput collapses with jumbo frames.\n"
        f"EnableLSO={values(1)};\n"
        "#\n"
        "# MTU: 60 to 9000.  Only the Solaris 10 builds of the driver read it; on\n"
        "# Solaris 11 the MTU is a link property (dladm set-linkprop -p mtu).\n"
        f"#MTU={values(1500)};\n"
    )
    return text.encode("ascii")


def vmci_conf() -> bytes:
    return (
        b"#\n# SYNTHETIC vmci.conf written for toolsfix tests; not VMware's file.\n#\n"
        b"ddi-forceattach=1;\n"
    )


def manifest(rel: Release) -> bytes:
    components = [
        "monolithic",
        "vmtools",
        "vmxnet3s",
        *(["vmxnet"] if rel.vmxnet else []),
        "vmmemctl",
        "vmhgfs",
        "vmblock",
        *(["vmci"] if rel.vmci else []),
    ]
    lines = [f'{c}.version = "{rel.version}"' for c in components]
    lines.insert(1, f'monolithic.buildNr = "{rel.build}"')
    return ("\n".join(lines) + "\n").encode("ascii")


INSTALLER_SH = b"""#!/bin/sh
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
"""

SERVICES_SH = b"""#!/bin/sh
# SYNTHETIC sample written for toolsfix tests; not VMware's file.
# Placeholder for the installer's service helper; it does nothing.
exit 0
"""


def install_text(rel: Release) -> bytes:
    return (
        "VMware Tools for Solaris " + rel.version + " (build " + str(rel.build) + ")\n"
        "\n"
        "SYNTHETIC sample written for toolsfix tests; not VMware's file.\n"
        "\n"
        "To install, run ./vmware-install.pl as root.  The installer copies the\n"
        "files to their places and then runs vmware-config-tools.pl, which picks the\n"
        "Solaris driver builds from " + LIBDIR_DEFAULT + "/modules/binary/.\n"
    ).encode("ascii")


def readme_text(rel: Release) -> bytes:
    return (
        "VMware Tools for Solaris " + rel.version + "\n"
        "\n"
        "SYNTHETIC sample written for toolsfix tests; not VMware's file.\n"
        "See ../INSTALL for installation.\n"
    ).encode("ascii")


# --------------------------------------------------------------------------------------------
# Driver binaries
# --------------------------------------------------------------------------------------------
DriverBuilder = Callable[..., bytes]


def _load_elfgen() -> DriverBuilder:
    """build_driver from elfgen.py (next to this file): deterministic ELF look-alikes."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    module = importlib.import_module("elfgen")
    builder: DriverBuilder = module.build_driver
    return builder


class Drivers:
    """Memoised driver bytes: several variants share a release, and gcc runs are not free."""

    def __init__(self) -> None:
        self.builder = _load_elfgen()
        self._cache: dict[tuple[str, str, str, int], bytes] = {}

    @staticmethod
    def toolchain() -> str:
        """gcc/binutils versions: driver bytes (and so FILES and archives) depend on them."""
        elfgen = importlib.import_module("elfgen")
        toolchain_id: Callable[[], str] = elfgen.toolchain_id
        return toolchain_id()

    def get(self, module: str, os_dir: str, rel: Release) -> bytes:
        key = (module, os_dir, rel.version, rel.build)
        if key not in self._cache:
            self._cache[key] = self.builder(module, os_dir, rel.version, str(rel.build))
        return self._cache[key]


# --------------------------------------------------------------------------------------------
# The distrib model: path (relative to vmware-tools-distrib/) -> (bytes, tar mode)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    data: bytes
    mode: int  # the permission bits recorded in the tarball and in FILES


Tree = dict[str, Entry]
RO, RX, DIR_MODE = 0o444, 0o555, 0o755


def build_tree(variant: Variant, drivers: Drivers) -> Tree:
    rel = RELEASES[variant.release]
    config = variant_configurator(variant)
    manager = package_manager(rel).encode("ascii")
    tree: Tree = {
        "INSTALL": Entry(install_text(rel), RO),
        "bin/vmware-config-tools.pl": Entry(config, RX),
        "bin/vmware-uninstall-tools.pl": Entry(manager, RX),
        "doc/README": Entry(readme_text(rel), RO),
        "etc/installer.sh": Entry(INSTALLER_SH, RX),
        "etc/manifest.txt.shipped": Entry(manifest(rel), RO),
        "installer/services.sh": Entry(SERVICES_SH, RX),
    }
    if rel.sh_install_wrapper:
        tree["vmware-install.pl"] = Entry(install_wrapper().encode("ascii"), RX)
        tree["vmware-install.real.pl"] = Entry(manager, RX)
        note = b"SYNTHETIC placeholder written for toolsfix tests; not VMware's file.\n"
        tree["caf/README"] = Entry(note, RO)
        tree["vgauth/README"] = Entry(note, RO)
    else:
        tree["vmware-install.pl"] = Entry(manager, RX)
    modules = [
        "vmxnet3s",
        *(["vmxnet"] if rel.vmxnet else []),
        "vmmemctl",
        "vmhgfs",
        "vmblock",
        *(["vmci"] if rel.vmci else []),
    ]
    for os_dir in OS_DIRS:
        if variant.drop_11_dirs and os_dir in ("11", "11_64"):
            continue
        base = "lib/modules/binary/" + os_dir + "/"
        for module in modules:
            tree[base + module] = Entry(drivers.get(module, os_dir, rel), RO)
        if not os_dir.endswith("_64"):
            tree[base + "vmxnet3s.conf"] = Entry(vmxnet3s_conf(), RO)
            if rel.vmci:
                tree[base + "vmci.conf"] = Entry(vmci_conf(), RO)
    tree["FILES"] = Entry(files_listing(tree), RO)
    return tree


def directories(tree: Tree) -> list[str]:
    """All directories of the tree, relative, '' being the distrib root."""
    dirs = {""}
    for path in tree:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return sorted(dirs)


def _mode_string(mode: int, is_dir: bool) -> str:
    return ("d" if is_dir else "-") + stat.filemode(mode)[1:]


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def files_listing(tree: Tree) -> bytes:
    """VMware-style ``ls -lR`` of the distrib (FILES itself is not listed), sizes included."""
    date = time.strftime("%b %e  %Y", time.gmtime(EPOCH))
    dirs = directories(tree)
    out: list[str] = []
    for d in dirs:
        rows: list[tuple[str, int, int, str]] = []  # mode string, links, size, name
        for sub in dirs:
            if sub and _parent(sub) == d:
                links = 2 + sum(1 for x in dirs if x and _parent(x) == sub)
                rows.append((_mode_string(DIR_MODE, True), links, 4096, sub.rsplit("/", 1)[-1]))
        for path, entry in tree.items():
            if path != "FILES" and _parent(path) == d:
                rows.append(
                    (_mode_string(entry.mode, False), 1, len(entry.data), path.rsplit("/", 1)[-1])
                )
        rows.sort(key=lambda r: r[3])
        blocks = sum(4 * -(-size // 4096) for _m, _l, size, _n in rows)
        width = max(len(str(r[2])) for r in rows)
        if out:
            out.append("")
        out.append(("./" + d if d else ".") + ":")
        out.append(f"total {blocks}")
        out += [
            f"{m} {links} root root {size:>{width}} {date} {name}" for m, links, size, name in rows
        ]
    return ("\n".join(out) + "\n").encode("ascii")


def disk_mode(entry: Entry) -> int:
    """Mode in the repository: git only keeps the executable bit, files stay writable."""
    return 0o755 if entry.mode & 0o111 else 0o644


def write_distrib(tree: Tree, root: Path) -> None:
    for path, entry in sorted(tree.items()):
        target = root / DISTRIB / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(entry.data)
        target.chmod(disk_mode(entry))


def tar_gz(tree: Tree) -> bytes:
    """Deterministic .tar.gz: sorted entries, root:root, fixed mtime, gzip mtime 0."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        items: list[tuple[str, Optional[Entry]]] = [
            ((DISTRIB + "/" + d) if d else DISTRIB, None) for d in directories(tree)
        ]
        items += [(DISTRIB + "/" + p, e) for p, e in tree.items()]
        for name, entry in sorted(items, key=lambda item: item[0]):
            info = tarfile.TarInfo(name)
            info.mtime = EPOCH
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if entry is None:
                info.type = tarfile.DIRTYPE
                info.mode = DIR_MODE
                tar.addfile(info)
            else:
                info.mode = entry.mode
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


@contextlib.contextmanager
def frozen_clock(epoch: int) -> Iterator[None]:
    """pycdlib stamps time.time() in local time into every date field: pin both to UTC EPOCH."""
    saved_time, saved_localtime = time.time, time.localtime

    def fixed_time() -> float:
        return float(epoch)

    def utc_localtime(secs: Optional[float] = None) -> time.struct_time:
        return time.gmtime(epoch if secs is None else secs)

    setattr(time, "time", fixed_time)  # noqa: B010 - a plain assignment upsets mypy
    setattr(time, "localtime", utc_localtime)  # noqa: B010
    try:
        yield
    finally:
        setattr(time, "time", saved_time)  # noqa: B010
        setattr(time, "localtime", saved_localtime)  # noqa: B010


ISO_TARBALL = "vmware-solaris-tools.tar.gz"


def iso_image(tarball: bytes) -> bytes:
    """solaris.iso shape: vmware-solaris-tools.tar.gz at the root, Rock Ridge + Joliet names."""
    import pycdlib  # local: only the ISO step needs it

    out = io.BytesIO()
    with frozen_clock(EPOCH):
        iso = pycdlib.PyCdlib()
        iso.new(interchange_level=3, vol_ident="VMware Tools", rock_ridge="1.09", joliet=3)
        iso.add_fp(
            io.BytesIO(tarball),
            len(tarball),
            "/VMWARE_SOLARIS_TOOLS.TAR_GZ;1",
            rr_name=ISO_TARBALL,
            joliet_path="/" + ISO_TARBALL,
            file_mode=0o100444,
        )
        iso.write_fp(out)
        iso.close()
    return out.getvalue()


def script_name(variant: Variant) -> str:
    return "vmware-config-tools-" + variant.name + ".pl"


def generate(out: Path) -> list[Path]:
    """(Re)write distribs/, archives/, scripts/ and generated.json under ``out``; nothing else."""
    for name in GENERATED_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)
        (out / name).mkdir(parents=True)
    drivers = Drivers()
    written: list[Path] = []
    for variant in VARIANTS:
        if variant.script_only:
            script = out / "scripts" / script_name(variant)
            script.write_bytes(variant_configurator(variant))
            script.chmod(0o755)
            written.append(script)
            continue
        tree = build_tree(variant, drivers)
        distrib_root = out / "distribs" / variant.name
        write_distrib(tree, distrib_root)
        written.append(distrib_root / DISTRIB)
        tgz = tar_gz(tree)
        tgz_path = out / "archives" / ("vmware-solaris-tools-" + variant.name + ".tar.gz")
        tgz_path.write_bytes(tgz)
        written.append(tgz_path)
        if variant.iso:
            iso_path = out / "archives" / ("solaris-" + variant.name + ".iso")
            iso_path.write_bytes(iso_image(tgz))
            written.append(iso_path)
        script = out / "scripts" / script_name(variant)
        script.write_bytes(tree["bin/vmware-config-tools.pl"].data)
        script.chmod(0o755)
        written.append(script)
    written += importlib.import_module("roots").generate(out)  # roots/, bundles/, fingerprints
    written += importlib.import_module("esxi_samples").generate(out)  # esxi/ (teaming)
    files = {
        rel: hashlib.sha256(p.read_bytes()).hexdigest()
        for rel, p in sorted(_relative_files(out).items())
    }
    meta = {"synthetic": True, "elfgen_toolchain": drivers.toolchain(), "sha256": files}
    (out / METADATA).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="ascii")
    return written


def _relative_files(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name in GENERATED_DIRS:
        base = root / name
        if base.is_dir():
            for p in base.rglob("*"):
                if p.is_file():
                    found[p.relative_to(root).as_posix()] = p
    return found


def depends_on_toolchain(rel: str) -> bool:
    """Files whose bytes come from (or list the sizes of) gcc-built driver objects."""
    if rel.startswith("archives/") or rel.endswith("/FILES"):
        return True
    return "/lib/modules/binary/" in rel and not rel.endswith(".conf")


def _recorded_toolchain(root: Path) -> str:
    try:
        meta = json.loads((root / METADATA).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return ""
    value = meta.get("elfgen_toolchain", "") if isinstance(meta, dict) else ""
    return value if isinstance(value, str) else ""


def compare(fresh_root: Path, committed_root: Path) -> tuple[list[str], list[str]]:
    """(differences, notes) between a fresh generation and the committed output.

    With another gcc/binutils than the one recorded in generated.json, the driver objects
    legitimately differ, so they, FILES and the archives are left out (and a note says so).
    """
    notes: list[str] = []
    fresh, committed = _relative_files(fresh_root), _relative_files(committed_root)
    same_toolchain = _recorded_toolchain(fresh_root) == _recorded_toolchain(committed_root)
    if not same_toolchain:
        notes.append(
            "toolchain differs from the one recorded in generated.json: driver "
            "objects, FILES and archives were not compared"
        )
        fresh = {k: v for k, v in fresh.items() if not depends_on_toolchain(k)}
        committed = {k: v for k, v in committed.items() if not depends_on_toolchain(k)}
    else:
        fresh[METADATA] = fresh_root / METADATA
        committed[METADATA] = committed_root / METADATA
    problems = [f"missing: {p}" for p in sorted(set(fresh) - set(committed))]
    problems += [f"unexpected: {p}" for p in sorted(set(committed) - set(fresh))]
    for rel in sorted(set(fresh) & set(committed)):
        if not committed[rel].is_file():
            problems.append(f"missing: {rel}")
        elif not filecmp.cmp(fresh[rel], committed[rel], shallow=False):
            problems.append(f"differs: {rel}")
        elif (fresh[rel].stat().st_mode & 0o111) != (committed[rel].stat().st_mode & 0o111):
            problems.append(f"executable bit differs: {rel}")
    return problems, notes


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the synthetic VMware Tools samples.")
    parser.add_argument(
        "--out", type=Path, default=HERE, help="output root (default: this directory)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary directory and compare with --out",
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp))
            problems, notes = compare(Path(tmp), out)
            problems += importlib.import_module("roots").compare(Path(tmp), out)
            problems += importlib.import_module("esxi_samples").compare(Path(tmp), out)
        for note in notes:
            print("note: " + note)
        for problem in problems[:MAX_LISTED]:
            print(problem)
        if len(problems) > MAX_LISTED:
            print(f"... and {len(problems) - MAX_LISTED} more")
        if problems:
            print(f"{len(problems)} difference(s): run generate.py to refresh the samples")
            return 1
        print("samples are up to date")
        return 0
    written = generate(out)
    print(f"wrote {len(written)} samples under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
