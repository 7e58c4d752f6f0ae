# toolsfix sandbox: run a configurator's own driver-selection subs with every side effect stubbed.
#
# Usage: perl sandbox.pl SPEC RESULTS
# SPEC holds "==SUB name" sections (source to compile, one sub each) and directive lines
# "GUEST name<TAB>uname -r<TAB>uname -v<TAB>/etc/release line 1" and "MODULE name".
# RESULTS receives tab-separated records; nothing else is written anywhere.
#
# The subs are compiled inside a Safe compartment whose opcode mask forbids system, exec,
# backticks, fork, open, file tests, sockets, eval-of-strings and require. The few builtins the
# real code legitimately calls (system for add_drv) are replaced by recording stubs imported into
# the compartment, so the real code runs unmodified but can only *describe* what it would do.
use strict;
use warnings;
use Safe;

package EchoHash;
sub TIEHASH { my $c = shift; return bless {}, $c }
sub FETCH   { return $_[1] }
sub STORE   { return }
sub EXISTS  { return 1 }
sub DELETE  { return }
sub CLEAR   { return }
sub FIRSTKEY { return }
sub NEXTKEY  { return }

package main;

my ($spec_path, $out_path) = @ARGV;
die "usage: sandbox.pl SPEC RESULTS\n" unless defined $out_path;

open(my $out, '>', $out_path) or die "cannot write $out_path: $!\n";
open(my $null, '>', '/dev/null') or die "cannot open /dev/null: $!\n";
select($null);    # anything the sandboxed code prints goes nowhere

sub esc {
    my $s = shift;
    $s = '' unless defined $s;
    $s =~ s/\\/\\\\/g;
    $s =~ s/\t/\\t/g;
    $s =~ s/\n/\\n/g;
    $s =~ s/\r/\\r/g;
    return $s;
}

sub emit { print {$out} join("\t", map { esc($_) } @_), "\n" }

my (@subs, @guests, @modules);
{
    open(my $fh, '<', $spec_path) or die "cannot read $spec_path: $!\n";
    my $cur;
    while (my $line = <$fh>) {
        if ($line =~ /^==SUB (\w+)\s*$/) {
            $cur = [$1, ''];
            push @subs, $cur;
        } elsif ($line =~ /^==GUEST\t(.*)$/) {
            push @guests, [split /\t/, $1, -1];
            undef $cur;
        } elsif ($line =~ /^==MODULE\t(\w+)\s*$/) {
            push @modules, $1;
            undef $cur;
        } elsif (defined $cur) {
            $cur->[1] .= $line;
        }
    }
    close $fh;
}

my $cpt = Safe->new('ToolsfixSandbox');
$cpt->permit_only(':default', ':base_io', ':base_math');
# :default still allows a few ops with effects outside the process or the compartment.
$cpt->deny(qw(dbmopen dbmclose pipe_op sockpair setpgrp setpriority tie untie
              sselect require dofile entereval));
my $root = $cpt->root;

my %G;          # the current guest
my @calls;      # what the current call asked for
my @undefined;  # subs called that neither the file nor the stubs define

sub rec { push @calls, [@_] }

sub release_token {
    my $line = $G{release} // '';
    return $line =~ /Solaris\s+\d+\s+(\d+\/\d+)/ ? $1 : '';
}

my %stubs = (
    install_file     => sub { rec('install_file', $_[0], $_[1]); return 'yes' },
    install_dir      => sub { rec('install_dir', $_[0], $_[1]); return 'yes' },
    db_get_answer    => sub {
        my $k = shift // '';
        return '/usr/lib/vmware-tools' if $k eq 'LIBDIR';
        return '/usr/bin' if $k eq 'BINDIR';
        return '/usr/sbin' if $k eq 'SBINDIR';
        return '/etc/vmware-tools' if $k eq 'INITDIR';
        return '';
    },
    db_get_answer_if_exists => sub { return undef },
    db_add_answer    => sub { rec('db_add_answer', $_[0], $_[1]); return },
    db_remove_answer => sub { rec('db_remove_answer', $_[0]); return },
    db_add_file      => sub { rec('db_add_file', $_[0]); return },
    system           => sub { rec('system', join(' ', map { defined $_ ? $_ : '' } @_)); return 0 },
    direct_command   => sub {
        my $c = join(' ', map { defined $_ ? $_ : '' } @_);
        return "$G{r}\n" if $c =~ /uname.*-r/;
        return "$G{v}\n" if $c =~ /uname.*-v/;
        return "$G{isa}\n" if $c =~ /isainfo/;
        rec('direct_command', $c);
        return '';
    },
    shell_string     => sub { return defined $_[0] ? $_[0] : '' },
    internal_which   => sub { return defined $_[0] ? $_[0] : '' },
    file_name_exist  => sub { return 0 },
    vmware_product   => sub { return 'tools-for-solaris' },
    vmware_product_name => sub { return 'VMware Tools' },
    wrap             => sub { return defined $_[0] ? $_[0] : '' },
    query            => sub { return '' },
    get_answer       => sub { return defined $_[2] ? $_[2] : '' },
    error            => sub { die 'error: ' . (defined $_[0] ? $_[0] : '') . "\n" },
    migrate_network_files => sub { rec('migrate_network_files', @_); return },
    # List::Util's, for refactored files that import them (require is masked).
    min              => sub { my $m = shift; for (@_) { $m = $_ if $_ < $m } return $m },
    max              => sub { my $m = shift; for (@_) { $m = $_ if $_ > $m } return $m },
);

# Fallbacks for the file's own helpers when they use an operation the mask forbids (they read
# /etc/release or /etc/name_to_major with open): same contract, fed from the simulated guest.
my %fallbacks = (
    solaris_os_version    => sub { return split /\./, $G{r} },
    solaris_os_name       => sub { return $G{v} },
    solaris_10_or_greater => sub { my ($a, $b) = split /\./, $G{r}; return ($a > 5 || ($a == 5 && $b >= 10)) ? 'yes' : 'no' },
    solaris_11_or_greater => sub { my ($a, $b) = split /\./, $G{r}; return ($a > 5 || ($a == 5 && $b >= 11)) ? 'yes' : 'no' },
    solaris_is_opensolaris => sub { my (undef, $b) = split /\./, $G{r}; return ($b == 11 && $G{v} =~ /^snv/) ? 'yes' : 'no' },
    solaris_release       => sub { return release_token() },
    solaris_10u1          => sub { return release_token() eq '1/06' ? 'yes' : 'no' },
    solaris_driver_configured => sub { return 'no' },
);

{
    no strict 'refs';
    no warnings 'redefine';
    my %defined_by_file = map { $_->[0] => 1 } @subs;
    for my $name (keys %stubs) {
        next if $defined_by_file{$name} && !exists $fallbacks{$name} && $name ne 'system';
        *{"${root}::$name"} = $stubs{$name};
    }
    for my $name (sort keys %fallbacks) {
        next if $defined_by_file{$name};
        *{"${root}::$name"} = $fallbacks{$name};
        emit('STUBBED', $name, 'not defined in the file');
    }
    *{"${root}::AUTOLOAD"} = sub {
        my $name = ${"${root}::AUTOLOAD"};
        $name =~ s/.*:://;
        return if $name eq 'DESTROY';
        push @undefined, $name;
        rec('undefined', $name);
        return '';
    };
    tie %{"${root}::gHelper"}, 'EchoHash';
}

my $target_ok = 1;
for my $s (@subs) {
    my ($name, $src) = @$s;
    local $SIG{__WARN__} = sub { };
    $cpt->reval($src);
    if ($@) {
        my $err = $@;
        $err =~ s/\s+$//;
        if (exists $fallbacks{$name}) {
            no strict 'refs';
            no warnings 'redefine';
            *{"${root}::$name"} = $fallbacks{$name};
            emit('STUBBED', $name, $err);
        } else {
            emit('COMPILE_ERROR', $name, $err);
            $target_ok = 0;
        }
    } else {
        emit('COMPILED', $name);
    }
}

if ($target_ok) {
    no strict 'refs';
    for my $g (@guests) {
        my ($gname, $r, $v, $release) = @$g;
        %G = (r => $r, v => $v, release => $release, isa => '64');
        %{"${root}::gSystem"} = (uts_release => $r, uts_version => $v, system => 'SunOS',
                                 product => 'tools-for-solaris');
        for my $module (@modules) {
            @calls = ();
            local $SIG{__WARN__} = sub { };
            local $SIG{ALRM} = sub { die "timeout\n" };
            my $ret = $cpt->reval("configure_module_solaris('$module')");
            my $err = $@;
            for my $c (@calls) {
                emit('CALL', $gname, $module, @$c);
            }
            if ($err) {
                $err =~ s/\s+$//;
                emit('ERROR', $gname, $module, $err);
            } else {
                emit('RETURN', $gname, $module, defined $ret ? $ret : '');
            }
        }
    }
}
emit('DONE');
close $out;
exit 0;
