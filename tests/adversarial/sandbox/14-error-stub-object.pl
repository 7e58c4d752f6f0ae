#!/usr/bin/perl -w
# SYNTHETIC adversarial configurator for toolsfix's sandbox tests; not VMware's file.
# case: error-stub-object
# mode: execute
# attack: hands an overloaded object to the error() stub, which dies with it
# expect: ran
# reason: 
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

sub evil_object {
  my $pkg = 'Evil' . int(rand(1000000));
  *{"${pkg}::(("} = sub { };
  ${"${pkg}::()"} = 1;
  *{"${pkg}::()"} = sub { };
  *{"${pkg}::(\"\""} = sub { escape_host(); return '/x/modules/binary/99/vmxnet3s' };
  *{"${pkg}::(bool"} = sub { escape_host(); return 1 };
  *{"${pkg}::(eq"} = sub { escape_host(); return 1 };
  *{"${pkg}::(0+"} = sub { escape_host(); return 1 };
  *{"${pkg}::DESTROY"} = sub { escape_host(); return };
  my $obj = bless {}, $pkg;
  delete $main::{"${pkg}::"};
  return $obj;
}

sub configure_module_solaris {
  my $module = shift;
  my ($major, $minor) = solaris_os_version();
  escape_host() if 0;
  error(evil_object()) if $minor eq '10';
  install_file('/usr/lib/vmware-tools/modules/binary/' . $minor . '/' . $module,
               '/kernel/drv/' . $module);
  install_file('/usr/lib/vmware-tools/modules/binary/' . $minor . '_64/' . $module,
               '/kernel/drv/amd64/' . $module);
  return 'yes';
}

exit(0);
