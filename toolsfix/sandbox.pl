# toolsfix sandbox harness: run a configurator's own driver-selection subs with every side effect
# stubbed ("execute"), or compile a whole configurator without running any of it ("compile").
#
# toolsfix runs `perl -` and sends this file on stdin, followed by __DATA__ and the job:
#   "toolsfix-sandbox 2 NONCE MODE\n" then sections, each "==KIND LENGTH [NAME]\n" + LENGTH bytes
#   + "\n": SUB (one sub's source), GUEST (name, uname -r, uname -v, /etc/release line 1, tab
#   separated), MODULE (a module name), TEXT (compile mode: the text to compile).
# Results go to stdout as framed records "LENGTH:PAYLOAD\n" (PAYLOAD: escaped fields joined by
# tabs); the last record is "END<TAB>COUNT<TAB>NONCE". toolsfix rejects anything else.
#
# Threat model (docs/security.md): the compiled text is hostile. Perl's Safe only applies its
# opcode mask while code is *compiled*, and only resolves names in the compartment while the
# compartment is *entered*; any compartment code that runs after we return (a signal handler, a
# __DIE__ hook, an overloaded operator, a DESTROY) runs with the whole host visible. So:
#   - every catchable signal is blocked before any input is compiled, and never unblocked;
#   - compartment code is only ever entered through one runner, which keeps whatever it returns
#     or throws alive and hands back plain, bounded strings;
#   - stubs turn their arguments into plain, bounded strings at call time (never a ref);
#   - nothing created by the compartment is ever freed: we end with POSIX::_exit, so neither
#     scope exit nor global destruction can call a DESTROY outside;
#   - results go through syswrite on a descriptor the compartment cannot name, so $\ and $,
#     (global) cannot forge records, and the nonce proves the trailer is ours.

# The runner is compiled first, before any file-scoped lexical exists: a string eval sees every
# lexical in scope where it is compiled, and the text it evaluates must see none of ours.
sub ToolsfixHarness::make_runner {
    return eval sprintf(<<'RUNNER', $_[0]);
package %s;
sub {
    @_ = ();
    $ToolsfixHarness::finished = 0;
    $ToolsfixHarness::value = undef;
    {   # a bare block is a loop: a stray last/next in the text stops here, not in the harness
        $ToolsfixHarness::value = eval(q[local *SIG;] . $ToolsfixHarness::source);
        $ToolsfixHarness::finished = 1;
    }
    # Keep everything the text produced alive (it is never freed outside), then describe it with
    # ref/defined/substr only: none of them runs code the text could have overloaded.
    push @ToolsfixHarness::keep, $ToolsfixHarness::value, $@;
    my $status = !$ToolsfixHarness::finished ? 'left'
               : ref($@) ? 'dieobj'
               : (defined($@) && length($@)) ? 'die'
               : 'ok';
    my $error = (ref($@) || !defined($@)) ? '' : substr($@, 0, 4096);
    my $value = $ToolsfixHarness::value;
    my $kind = ref($value) ? 'ref' : defined($value) ? 'str' : 'undef';
    my $text = $kind eq 'str' ? substr($value, 0, 4096) : '';
    $@ = '';
    return ($status, "$error", $kind, "$text");
}
RUNNER
}

use strict;
use warnings;
use POSIX ();

# Before anything else: block every catchable signal for the life of this process. A handler
# the text installs can then never run (least of all outside the compartment); resource limits
# still end the process (CPU soft == hard limit: the kernel sends SIGKILL; a blocked SIGXFSZ
# makes an oversized write fail with EFBIG instead).
BEGIN {
    my $all = POSIX::SigSet->new;
    $all->fillset;
    POSIX::sigprocmask(POSIX::SIG_BLOCK(), $all) or POSIX::_exit(70);
}

# Every way perl ends other than our own POSIX::_exit -- an uncaught die, "Out of memory!" --
# goes through my_exit, which runs END blocks and then global destruction: DESTROY of whatever
# the compartment left behind, outside it. This END block ends the process first. (END blocks
# the compartment compiles are discarded by Opcode; this one is the harness's own.)
END { POSIX::_exit(77) }

use Opcode ();
use Safe;
# Compiling glob (<*.c>) loads File::Glob unless it is loaded: preloaded here, so the compile
# check does not fail on it (inside the compartment require is masked).
use File::Glob ();

# Named once in the runner's string, once here (keeps "used only once" quiet).
@ToolsfixHarness::keep = ();
$ToolsfixHarness::source = undef;

use constant {
    MAX_FIELD  => 4096,       # characters of one recorded value
    MAX_ARGS   => 8,          # arguments recorded per stub call
    MAX_CALLS  => 64,         # stub calls recorded per guest x module
    MAX_OUTPUT => 4 << 20,    # bytes of results in total
    ROOT       => 'ToolsfixSandbox',
};

# Results: a duplicate of stdout kept in a lexical the compartment cannot name; stdout itself
# (which the compartment can reach through select) is pointed at /dev/null.
open(my $res, '>&', \*STDOUT) or POSIX::_exit(71);
binmode $res;
open(STDOUT, '>', '/dev/null') or POSIX::_exit(71);

my $records = 0;     # records written so far (the trailer states the count)
my $written = 0;     # bytes written so far
my $overflow = 0;    # a record was refused: the results budget is spent
my $inside = 0;      # > 0 while compartment code is on the stack
my ($nonce, $mode, @subs, @guests, @modules, $text);

sub esc {
    my $s = shift;
    $s = '' unless defined $s;
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/\\/\\\\/g;
    $s =~ s/\t/\\t/g;
    $s =~ s/\n/\\n/g;
    $s =~ s/\r/\\r/g;
    return $s;
}

sub put_frame {
    my ($payload) = @_;
    my $frame = length($payload) . ':' . $payload . "\n";
    my $off = 0;
    while ($off < length $frame) {
        my $n = syswrite($res, $frame, length($frame) - $off, $off);
        POSIX::_exit(74) unless defined $n && $n > 0;
        $off += $n;
    }
    $written += length $frame;
}

# One record, unless it would take the results past MAX_OUTPUT (then the run is over).
sub emit {
    my $payload = join("\t", map { esc($_) } @_);
    if ($written + length($payload) > MAX_OUTPUT) {
        $overflow = 1;
        return;
    }
    put_frame($payload);
    $records++;
    return;
}

# The closing records: never subject to the budget (they are small and fixed).
sub finish {
    # A compartment that unwound through the harness (the runner stops loop control, and this
    # file has no labels) would leave $inside set: then withhold the trailer.
    POSIX::_exit(75) if $inside;
    if ($overflow) {
        put_frame('OVERFLOW');
        $records++;
    }
    put_frame('DONE');
    $records++;
    put_frame(join("\t", 'END', $records, $nonce));
    POSIX::_exit(0);
}

{
    binmode DATA;
    local $/;
    my $job = <DATA>;
    close DATA;
    open(STDIN, '<', '/dev/null');
    $job = '' unless defined $job;
    my $nl = index($job, "\n");
    my $head = $nl < 0 ? '' : substr($job, 0, $nl);
    my ($tag, $version, $n, $m) = split / /, $head;
    unless (defined $m && $tag eq 'toolsfix-sandbox' && $version eq '2'
            && $n =~ /\A[0-9a-f]{32}\z/ && $m =~ /\A(?:execute|compile)\z/) {
        print STDERR "sandbox: bad job header\n";
        POSIX::_exit(72);
    }
    ($nonce, $mode) = ($n, $m);
    my $pos = $nl + 1;
    while ($pos < length $job) {
        my $end = index($job, "\n", $pos);
        last if $end < 0;
        my ($kind, $len, $name) = split / /, substr($job, $pos, $end - $pos), 3;
        unless (defined $len && $len =~ /\A\d+\z/ && $end + 1 + $len < length $job) {
            print STDERR "sandbox: bad job section\n";
            POSIX::_exit(72);
        }
        my $body = substr($job, $end + 1, $len);
        $pos = $end + 1 + $len + 1;
        if ($kind eq '==SUB' && defined $name && $name =~ /\A\w+\z/) {
            push @subs, [$name, $body];
        } elsif ($kind eq '==GUEST') {
            push @guests, [split /\t/, $body, -1];
        } elsif ($kind eq '==MODULE' && $body =~ /\A\w+\z/) {
            push @modules, $body;
        } elsif ($kind eq '==TEXT') {
            $text = $body;
        } else {
            print STDERR "sandbox: unknown job section\n";
            POSIX::_exit(72);
        }
    }
}

emit('CONFINED', $< + 0, $> + 0, (split ' ', $()[0], (split ' ', $))[0]);

my $cpt = Safe->new(ROOT);
if ($mode eq 'compile') {
    # Nothing is run, so any op may be compiled; but a `use` the caller failed to remove must
    # fail rather than load and run a module.
    $cpt->deny_only(qw(require dofile));
} else {
    $cpt->permit_only(':default', ':base_io', ':base_math');
    # :default still allows a few ops with effects outside the process or the compartment.
    $cpt->deny(qw(dbmopen dbmclose pipe_op sockpair setpgrp setpriority tie untie
                  sselect require dofile entereval));
}
my $mask = $cpt->mask;
my $runner = ToolsfixHarness::make_runner(ROOT) or POSIX::_exit(73);

# Anything a signal or hook slot holds after the text ran is kept (never freed here) and the slot
# reset; signals are blocked anyway, this keeps the slots from pointing at compartment code.
sub scrub_hooks {
    no strict 'refs';
    no warnings;
    for my $h (\%SIG, \%{ROOT . '::SIG'}) {
        for my $k (keys %$h) {
            my $v = $h->{$k};
            next unless defined $v;
            next if !ref($v) && $v eq 'DEFAULT';
            push @ToolsfixHarness::keep, $v;
            $h->{$k} = ($k eq '__DIE__' || $k eq '__WARN__') ? undef : 'DEFAULT';
        }
    }
    push @ToolsfixHarness::keep, *main::_{SCALAR}, *main::_{ARRAY}, *main::_{HASH},
        *main::_{CODE};
}

# Run text inside the compartment: (status, error, kind, value), all plain bounded strings.
sub guarded {
    my ($source) = @_;
    $ToolsfixHarness::source = $source;
    my @r;
    {
        local $SIG{__DIE__};
        local $SIG{__WARN__} = sub { };
        $inside++;
        @r = Opcode::_safe_call_sv(ROOT, $mask, $runner);
        $inside--;
    }
    push @ToolsfixHarness::keep, [@r], $@;
    $@ = '';
    scrub_hooks();
    return ('broken', 'the sandbox runner returned an unexpected value', 'undef', '')
        unless @r == 4 && !grep { ref($_) || !defined($_) } @r;
    return @r;
}

# A bounded plain string from anything the compartment passes; a ref is never stringified.
sub plain {
    my $v = $_[0];    # one copy: a magic value is read once
    return '<ref>' if ref $v;
    return '' unless defined $v;
    return length($v) > MAX_FIELD ? substr($v, 0, MAX_FIELD) : "$v";
}

if ($mode eq 'compile') {
    # Compile the whole (already neutralised) text and run none of it: the evaluated string
    # starts with `return`, so the eval is left at its first statement, before anything the
    # text says. (Wrapping the text in `sub { ... }` instead would let a text that closes the
    # brace itself put code at the top level, where it would run.) #line keeps the file's own
    # line numbers in messages.
    $text = '' unless defined $text;
    my ($status, $error) = guarded("return;\n#line 1 \"configurator\"\n" . $text);
    if ($status eq 'ok') {
        emit('COMPILE_OK');
    } else {
        $error =~ s/\s+\z//;
        emit('COMPILE_FAIL', $status eq 'die' ? $error : "compile check ended abnormally ($status)");
    }
    finish();
}

package EchoHash;
sub TIEHASH  { my $c = shift; return bless {}, $c }
sub FETCH    { return main::plain($_[1]) }
sub STORE    { return }
sub EXISTS   { return 1 }
sub DELETE   { return }
sub CLEAR    { return }
sub FIRSTKEY { return }
sub NEXTKEY  { return }

# %gSystem for the current guest: harness-owned plain strings, so switching guests never frees
# (or even touches) a value the compartment created.
package GuestHash;
our %data;
sub TIEHASH  { my $c = shift; return bless {}, $c }
sub FETCH    { return $data{ main::plain($_[1]) } }
sub STORE    { $data{ main::plain($_[1]) } = main::plain($_[2]); return }
sub EXISTS   { return exists $data{ main::plain($_[1]) } }
sub DELETE   { return delete $data{ main::plain($_[1]) } }
sub CLEAR    { %data = (); return }
sub FIRSTKEY { my @k = sort keys %data; return $k[0] }
sub NEXTKEY  { my @k = sort keys %data; for my $i (0 .. $#k) { return $k[$i + 1] if $k[$i] eq $_[1] } return }

package main;

my %G;          # the current guest
my @calls;      # what the current call asked for (plain strings only)
my $dropped;    # calls beyond MAX_CALLS

sub rec {
    if (@calls >= MAX_CALLS) {
        $dropped++;
        return;
    }
    my $last = $#_ < MAX_ARGS ? $#_ : MAX_ARGS;
    push @calls, [map { plain($_) } @_[0 .. $last]];
    return;
}

sub args_line { my $last = $#_ < MAX_ARGS ? $#_ : MAX_ARGS; return join(' ', map { plain($_) } @_[0 .. $last]) }

sub release_token {
    my $line = $G{release} // '';
    return $line =~ /Solaris\s+\d+\s+(\d+\/\d+)/ ? $1 : '';
}

my %stubs = (
    install_file     => sub { rec('install_file', $_[0], $_[1]); return 'yes' },
    install_dir      => sub { rec('install_dir', $_[0], $_[1]); return 'yes' },
    db_get_answer    => sub {
        my $k = plain($_[0]);
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
    system           => sub { rec('system', args_line(@_)); return 0 },
    direct_command   => sub {
        my $c = args_line(@_);
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
    error            => sub { die 'error: ' . plain($_[0]) . "\n" },
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
    for my $name (sort keys %stubs) {
        next if $defined_by_file{$name} && !exists $fallbacks{$name} && $name ne 'system';
        *{ROOT . "::$name"} = $stubs{$name};
    }
    for my $name (sort keys %fallbacks) {
        next if $defined_by_file{$name};
        *{ROOT . "::$name"} = $fallbacks{$name};
        emit('STUBBED', $name, 'not defined in the file');
    }
    # Compiled in package ToolsfixHarness, so perl sets $ToolsfixHarness::AUTOLOAD for it.
    *{ROOT . '::AUTOLOAD'} = eval q{
        package ToolsfixHarness;
        sub {
            my $name = main::plain($ToolsfixHarness::AUTOLOAD);
            $name =~ s/.*:://;
            return if $name eq 'DESTROY';
            main::rec('undefined', $name);
            return '';
        }
    } or POSIX::_exit(73);
    tie %{ROOT . '::gHelper'}, 'EchoHash';
    tie %{ROOT . '::gSystem'}, 'GuestHash';
}

my $target_ok = 1;
for my $s (@subs) {
    my ($name, $src) = @$s;
    my ($status, $error) = guarded($src);
    if ($status eq 'ok') {
        emit('COMPILED', $name);
        next;
    }
    $error = $status eq 'die' ? $error : "did not compile normally ($status)";
    $error =~ s/\s+\z//;
    if (exists $fallbacks{$name}) {
        no strict 'refs';
        no warnings 'redefine';
        *{ROOT . "::$name"} = $fallbacks{$name};
        emit('STUBBED', $name, $error);
    } else {
        emit('COMPILE_ERROR', $name, $error);
        $target_ok = 0;
    }
}

# No loop in this file carries a label: a labelled last/next/goto in the text must find nothing
# to jump to outside the compartment.
if ($target_ok) {
    for my $g (@guests) {
        last if $overflow;
        my ($gname, $r, $v, $release) = map { defined $_ ? $_ : '' } @$g;
        %G = (r => $r, v => $v, release => $release, isa => '64');
        %GuestHash::data = (uts_release => $r, uts_version => $v, system => 'SunOS',
                            product => 'tools-for-solaris');
        for my $module (@modules) {
            last if $overflow;
            @calls = ();
            $dropped = 0;
            my ($status, $error, $kind, $value) = guarded("configure_module_solaris('$module')");
            for my $c (@calls) {
                emit('CALL', $gname, $module, @$c);
            }
            emit('TRUNCATED', $gname, $module, $dropped) if $dropped;
            if ($status eq 'ok') {
                emit('RETURN', $gname, $module, $kind eq 'ref' ? '<ref>' : $value);
            } else {
                $error = $status eq 'dieobj' ? 'died with an object'
                       : $status eq 'die' ? $error : "left the call abnormally ($status)";
                $error =~ s/\s+\z//;
                emit('ERROR', $gname, $module, $error);
            }
        }
    }
}

finish();
