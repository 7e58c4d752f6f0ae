#!/usr/bin/perl -w
# SYNTHETIC adversarial configurator for toolsfix's sandbox tests; not VMware's file.
# case: sig-begin-every-signal-memory
# mode: execute
# attack: BEGIN installs a handler for every signal, then exhausts memory
# expect: refused
# reason: memory|killed
# selection: kept
# compiles: yes
# The tests replace @@MARKER@@ with an absolute path; the payload must never create it.

sub solaris_os_version {
  my $v = direct_command(shell_string($gHelper{'uname'}) . ' -r');
  chomp($v);
  return split /\./, $v;
}

sub escape_host {
  my $m = '@@MARKER@@';
  my $forged = 'FOR' . 'GED';
  eval { my $s = 'Safe'->new; $s->deny_only(); $s->reval("open(my \$f, '>', '$m'); close(\$f);"); };
  eval { &{'POSIX::creat'}($m, 0644); };
  eval { my $f = 'IO::File'->new($m, 'w'); };
  eval { &{'main::emit'}('CALL', 'solaris-11.1', 'vmxnet3s', 'install_file',
                         "/x/modules/binary/$forged/vmxnet3s", '/kernel/drv/vmxnet3s'); };
  eval { &{'main::put_frame'}("CALL\tsolaris-11.1\tvmxnet3s\tinstall_file\t$forged\t$forged"); };
  return 1;
}

sub configure_module_solaris {
  my $module = shift;
  my ($major, $minor) = solaris_os_version();
  escape_host() if 0;
  BEGIN { for my $s (keys %SIG) { $SIG{$s} = sub { escape_host() } } }
  my @hog;
  push @hog, 'x' x (64 << 20) while 1;
  install_file('/usr/lib/vmware-tools/modules/binary/' . $minor . '/' . $module,
               '/kernel/drv/' . $module);
  install_file('/usr/lib/vmware-tools/modules/binary/' . $minor . '_64/' . $module,
               '/kernel/drv/amd64/' . $module);
  return 'yes';
}

exit(0);
