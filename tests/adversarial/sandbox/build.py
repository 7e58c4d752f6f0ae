"""Build the sandbox escape corpus: one SYNTHETIC hostile configurator per case.

Every case is a real Perl configurator (it defines ``configure_module_solaris`` and the helper
it calls) whose code tries to get out of toolsfix's Perl sandbox. Payloads try to create the file
named by the ``@@MARKER@@`` placeholder (the tests substitute an absolute path in a temporary
directory) and to forge results: the token ``FORGED`` is only ever built at run time (as
``'FOR' . 'GED'``), so it can reach the results only through a forged record, never through a
compile error quoting the source.

    python tests/adversarial/sandbox/build.py          # rewrite the .pl files
    python tests/adversarial/sandbox/build.py --check  # exit 1 if they are out of date
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    name: str
    mode: str  # execute: run through execute(); compile: the attack targets the compile check
    attack: str
    body: str = ""  # Perl inside configure_module_solaris, before the real copies
    helpers: str = ""  # extra subs (configure_module_solaris must call them to be extracted)
    top: str = ""  # file-level code before the subs (compile-check attacks)
    # What toolsfix must make of it: the run completes ("ran"), is refused ("refused", with one
    # of the "|"-separated ``reason`` texts in its one-line reason), or either ("any").
    expect: str = "ran"
    reason: str = ""
    # ran: the real copies are still recorded for every guest x module that did not die
    # ("kept"), or the payload legitimately garbles the inputs of the selection ("any").
    selection: str = "kept"
    # The compile check's verdict on the neutralised text ("yes", "no" or "any").
    compiles: str = "yes"


# Mask-safe ways out, for code that runs *outside* the compartment: a method call on a host
# package name, symbolic references to host subs, the harness's own writer. Inside the
# compartment every name resolves to the compartment's own (empty) packages and all of it fails.
ESCAPE = r"""
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
"""

# An object whose every hook (stringify, bool, eq, numify, DESTROY) tries to escape, blessed
# into a stash that is then detached from the symbol table, so that no stash cleaning can find
# and disarm its methods.
EVIL_OBJECT = r"""
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
"""

ALL_STUBS = [
    "install_file($o, $o)",
    "install_dir($o, $o)",
    "db_get_answer($o)",
    "db_get_answer_if_exists($o)",
    "db_add_answer($o, $o)",
    "db_remove_answer($o)",
    "db_add_file($o)",
    "system($o, $o)",
    "direct_command($o)",
    "shell_string($o)",
    "internal_which($o)",
    "file_name_exist($o)",
    "wrap($o, $o)",
    "query($o, $o, $o)",
    "get_answer($o, $o, $o)",
    "migrate_network_files($o)",
    "min($o, 1)",
    "max($o, 1)",
    "undefined_helper($o)",
    "eval { error($o) }",
]

ALARM_HELPER = """
sub solaris_driver_configured {
  alarm(1);
  return 'no';
}
"""

TRAPPED = "trapped by operation mask"


def op(name: str, attack: str, body: str, compiles: str = "yes") -> Case:
    """An operation the execution mask must refuse when the sub is compiled."""
    return Case(f"op-{name}", "execute", attack, body, expect="refused", reason=TRAPPED,
                compiles=compiles)  # fmt: skip


CASES: list[Case] = [
    # --- signal handlers installed at compile time, then each resource limit --------------------
    Case("sig-begin-xfsz-huge-output", "execute",
         "BEGIN installs a SIGXFSZ handler, then the results outgrow the file-size limit",
         "  BEGIN { $SIG{XFSZ} = sub { escape_host() }; }\n"
         "  install_file('A' x (9 << 20), '/kernel/drv/x') for 1 .. 3;"),
    Case("sig-begin-xcpu-loop", "execute",
         "BEGIN installs a SIGXCPU handler, then burns CPU past the limit",
         "  BEGIN { $SIG{XCPU} = sub { escape_host() }; }\n  my $i = 0;\n  while (1) { $i++ }",
         expect="refused", reason="killed"),
    Case("sig-begin-alrm", "execute",
         "BEGIN installs a SIGALRM handler, a helper asks for an alarm, then it spins",
         "  BEGIN { $SIG{ALRM} = sub { escape_host() }; }\n"
         "  my $c = solaris_driver_configured();\n  my $i = 0;\n  while (1) { $i++ }",
         ALARM_HELPER,
         expect="refused", reason="killed"),
    Case("sig-begin-every-signal-memory", "execute",
         "BEGIN installs a handler for every signal, then exhausts memory",
         "  BEGIN { for my $s (keys %SIG) { $SIG{$s} = sub { escape_host() } } }\n"
         "  my @hog;\n  push @hog, 'x' x (64 << 20) while 1;",
         expect="refused", reason="memory|killed"),
    Case("sig-runtime-handlers-loop", "execute",
         "installs TERM/INT/HUP/PIPE/XCPU handlers at run time, then loops until killed",
         "  $SIG{$_} = sub { escape_host() } for qw(TERM INT HUP PIPE XCPU XFSZ ALRM USR1);\n"
         "  my $i = 0;\n  while (1) { $i++ }",
         expect="refused", reason="killed"),
    Case("sig-string-handler", "execute",
         "names a host sub as a signal handler (resolved when the signal arrives)",
         "  BEGIN { $SIG{XFSZ} = 'main::escape_host'; $SIG{PIPE} = 'main::emit'; }\n"
         "  install_file('B' x (9 << 20), '/kernel/drv/x') for 1 .. 3;"),
    Case("sig-begin-in-helper", "execute",
         "a helper compiled first leaves handlers behind for the target's run",
         "  my $v = plant_handlers();\n  install_file('C' x (9 << 20), '/x') for 1 .. 2;",
         "sub plant_handlers {\n  BEGIN { $SIG{XFSZ} = sub { escape_host() }; "
         "$SIG{__DIE__} = sub { escape_host() }; }\n  return 1;\n}\n"),
    # --- hooks -----------------------------------------------------------------------------------
    Case("die-hook-begin", "execute",
         "BEGIN installs a __DIE__ hook; the function then dies",
         "  BEGIN { $SIG{__DIE__} = sub { escape_host() }; }\n"
         "  die 'configurator gave up' if $minor eq '11';"),
    Case("warn-hook-begin", "execute",
         "BEGIN installs a __WARN__ hook; the function then warns",
         "  BEGIN { $SIG{__WARN__} = sub { escape_host() }; }\n  warn 'careful';\n"
         "  my $u; my $x = 'a' . $u;"),
    Case("die-hook-runtime-persist", "execute",
         "sets __DIE__/__WARN__ hooks at run time and leaves them for the harness",
         "  $SIG{__DIE__} = sub { escape_host() };\n  $SIG{__WARN__} = sub { escape_host() };"),
    # --- dies ------------------------------------------------------------------------------------
    Case("die-huge-message", "execute",
         "dies with a 16 MiB message",
         "  die('D' x (16 << 20)) if $minor eq '11';", expect="any"),
    Case("die-object-overloaded", "execute",
         "dies with an object whose stringification/bool/eq escape",
         "  die evil_object() if $minor eq '11';", EVIL_OBJECT),
    Case("die-object-nested", "execute",
         "dies with an object inside an eval inside the function, leaving it in $@",
         "  eval { die evil_object() };\n  my $kept = $@;", EVIL_OBJECT),
    Case("error-stub-object", "execute",
         "hands an overloaded object to the error() stub, which dies with it",
         "  error(evil_object()) if $minor eq '10';", EVIL_OBJECT),
    # --- DESTROY ---------------------------------------------------------------------------------
    Case("destroy-scope-exit", "execute",
         "an object with DESTROY goes out of scope inside the function",
         "  { my $o = evil_object(); }", EVIL_OBJECT),
    Case("destroy-global-destruction", "execute",
         "objects parked in globals wait for global destruction",
         "  push @main::parked, evil_object();\n"
         "  $main::parked = evil_object();\n  $gSystem{parked} = evil_object();",
         EVIL_OBJECT),
    Case("destroy-after-memory-exhaustion", "execute",
         "parks objects with DESTROY in globals, then exhausts memory ('Out of memory!' exits "
         "through global destruction)",
         "  push @main::parked, evil_object() for 1 .. 3;\n  my @hog;\n"
         "  push @hog, 'x' x (64 << 20) while 1;",
         EVIL_OBJECT, expect="refused", reason="memory|killed"),
    Case("destroy-in-sig-slot", "execute",
         "parks objects in %SIG slots so that scrubbing them would free them outside",
         "  $SIG{USR2} = evil_object();\n  $SIG{'__DIE__'} = evil_object();", EVIL_OBJECT),
    Case("destroy-in-underscore", "execute",
         "parks objects in $_, @_ and %_ (the glob *_ is shared with the host)",
         "  $_ = evil_object();\n  @main::_ = (evil_object());\n"
         "  %_ = (k => evil_object());\n  *_ = \\ evil_object();",
         EVIL_OBJECT),
    Case("tie-masked", "execute",
         "ties a variable to a hostile class (tie is masked)",
         "  tie my %h, 'main';\n  tie my $s, 'main';",
         expect="refused", reason=TRAPPED),
    Case("tied-introspection", "execute",
         "asks for the harness's tie object behind %gHelper (tied is masked)",
         "  my $t = tied(%gHelper);", expect="refused", reason=TRAPPED),
    # --- values crossing to the harness ----------------------------------------------------------
    Case("overload-stub-install-file", "execute",
         "passes an overloaded object to install_file, to be stringified later",
         "  install_file(evil_object(), '/kernel/drv/vmxnet3s');", EVIL_OBJECT),
    Case("overload-every-stub", "execute",
         "passes an overloaded object to every stub",
         "  my $o = evil_object();\n" + "".join(f"  my @r{i} = {c};\n"
                                               for i, c in enumerate(ALL_STUBS)),
         EVIL_OBJECT),
    Case("overload-return-value", "execute",
         "returns an overloaded object from configure_module_solaris",
         "  return evil_object() if $minor eq '11';", EVIL_OBJECT, selection="any"),
    Case("overload-return-list", "execute",
         "returns a list of objects and code refs",
         "  return (evil_object(), sub { escape_host() }, [evil_object()]) if $minor eq '10';",
         EVIL_OBJECT, selection="any"),
    Case("overload-gsystem-store", "execute",
         "stores objects into %gSystem and %gHelper, the harness's tied hashes",
         "  $gSystem{uts_release} = evil_object();\n  $gHelper{x} = evil_object();\n"
         "  my $k = $gSystem{evil_object()};", EVIL_OBJECT),
    Case("gsystem-glob-replace", "execute",
         "replaces the *gSystem glob with %SIG and a hash of objects",
         "  *gSystem = \\%SIG;\n  *gHelper = { uname => evil_object() };",
         EVIL_OBJECT,
         selection="any"),
    Case("long-strings-everywhere", "execute",
         "passes multi-megabyte strings to every recording stub",
         "  my $o = 'L' x (8 << 20);\n" + "".join(f"  my @r{i} = {c};\n"
                                                 for i, c in enumerate(ALL_STUBS[:9]))),
    # --- forging the results channel -------------------------------------------------------------
    Case("ors-ofs-forging", "execute",
         "sets $\\ and $, so that every host print appends a forged record",
         "  $\\ = \"\\n999:CALL\\tsolaris-11.1\\tvmxnet3s\\tinstall_file\\t\" . 'FOR' . 'GED';\n"
         "  $, = \"\\tFOR\" . 'GED';\n  $\" = 'FOR' . 'GED';\n  $/ = undef;\n  $; = 'FOR' . 'GED';",
         selection="any"),
    Case("fake-trailer-lines", "execute",
         "prints, warns and records text shaped like records, DONE and the trailer",
         "  my $f = 'FAKE';\n"
         "  print \"10:DONE\\nEND\\t1\\t0123456789abcdef0123456789abcdef\\n\";\n"
         "  print STDOUT \"4:DONE\\n\";\n  warn \"3:END\\n\";\n"
         "  install_file(\"/x/modules/binary/11/vmxnet3s\\n24:CALL\\tsolaris-11.1\\t$f\", "
         "\"\\t$f\\n4:DONE\\n\");"),
    Case("select-stdout", "execute",
         "writes to whatever handle select() returns",
         "  my $h = select();\n  print {$h} \"5:DONE\\n\";\n"
         "  syswrite($h, \"5:DONE\\n\");"),
    Case("huge-number-of-stub-calls", "execute",
         "calls install_file twenty thousand times",
         "  install_file('/x/modules/binary/11/vmxnet3s', '/kernel/drv/vmxnet3s') for 1 .. 20000;",
         expect="refused", reason="too many stubbed calls"),
    Case("output-budget", "execute",
         "records the maximum calls with 4 KiB arguments for every guest and module",
         "  install_file('/m/' . ('Z' x 5000), '/n/' . ('Y' x 5000)) for 1 .. 70;",
         expect="refused", reason="more output than the sandbox keeps"),
    # --- every opcode family (compile-time trapped) ----------------------------------------------
    op("system", "CORE::system", "  CORE::system('touch', '@@MARKER@@');"),
    op("exec", "exec", "  exec('touch', '@@MARKER@@');"),
    op("backticks", "backticks", "  my $x = `touch @@MARKER@@`;"),
    op("readpipe", "readpipe/qx", "  my $x = readpipe('touch @@MARKER@@');"),
    op("fork", "fork", "  my $pid = fork();\n  exit(0) if defined $pid && !$pid;"),
    op("open", "open", "  open(my $f, '>', '@@MARKER@@');\n  print $f 'x';"),
    op("sysopen", "sysopen", "  sysopen(my $f, '@@MARKER@@', 0101);"),
    op("unlink", "unlink", "  unlink('@@MARKER@@');"),
    op("rename", "rename", "  rename('/etc/hostname', '@@MARKER@@');"),
    op("mkdir", "mkdir", "  mkdir('@@MARKER@@');"),
    op("chmod", "chmod", "  chmod(0777, '@@MARKER@@');"),
    op("symlink", "symlink", "  symlink('/etc/passwd', '@@MARKER@@');"),
    op("kill", "kill", "  kill('KILL', getppid());"),
    op("socket", "socket", "  socket(my $s, 2, 1, 0);"),
    op("require", "require", "  require POSIX;\n  POSIX::creat('@@MARKER@@', 0644);"),
    op("do-file", "do FILE", "  do '/etc/passwd';", compiles="no"),
    op("string-eval", "string eval", "  my $r = eval \"open(my \\$f, '>', '@@MARKER@@')\";"),
    op("dbmopen", "dbmopen", "  dbmopen(my %h, '@@MARKER@@', 0644);"),
    op("glob", "glob", "  my @f = glob('/etc/*');\n  my @g = </etc/*>;"),
    op("syscall", "syscall", "  syscall(85, '@@MARKER@@', 0644);"),
    op("chdir", "chdir", "  chdir('/');"),
    op("utime", "utime", "  utime(0, 0, '@@MARKER@@');"),
    Case("env-change", "execute",
         "changes %ENV (PATH, PERL5OPT, LD_PRELOAD) for anything the host might start",
         "  $ENV{PATH} = '/nonexistent/bin';\n  $ENV{PERL5OPT} = '-Mstrict';\n"
         "  $ENV{LD_PRELOAD} = '@@MARKER@@';\n"
         "  delete $ENV{HOME};"),
    # --- reaching host code by name --------------------------------------------------------------
    Case("method-call-on-string", "execute",
         "calls methods on host package names from inside (Safe, POSIX, IO::File, main)",
         "  my $a = eval { 'Safe'->new };\n  my $b = eval { 'POSIX'->can('creat') };\n"
         "  my $c = eval { 'IO::File'->new('@@MARKER@@', 'w') };\n"
         "  my $d = eval { 'main'->can('emit') };\n  my $e = eval { 'UNIVERSAL'->can('can') };\n"
         "  escape_host();"),
    Case("symbolic-refs-to-harness", "execute",
         "calls harness subs and reads harness variables by symbolic name",
         "  my $f = 'FOR' . 'GED';\n"
         "  eval { &{'main::emit'}('CALL', 'solaris-11.1', 'vmxnet3s', 'install_file', $f, $f) };\n"
         "  eval { &{'main::finish'}() };\n  eval { &{'POSIX::_exit'}(0) };\n"
         "  my $n = ${'main::nonce'};\n  my @k = keys %{'main::'};\n"
         "  eval { &{'ToolsfixHarness::make_runner'}('main') };\n"
         "  push @{'ToolsfixHarness::keep'}, 1;\n  ${'ToolsfixHarness::source'} = 'x';"),
    Case("stash-walk", "execute",
         "walks every stash it can see looking for host code refs to call",
         "  my @todo = ('main::');\n  my %seen;\n"
         "  while (@todo) {\n    my $p = shift @todo;\n"
         "    next if $seen{$p}++ || keys(%seen) > 500;\n"
         "    for my $k (keys %{$p}) {\n      push @todo, \"$p$k\" if $k =~ /::$/;\n"
         "      my $cv = *{\"$p$k\"}{CODE};\n"
         "      eval { $cv->('@@MARKER@@', 0644) } if $cv && $k =~ /creat|emit|put_frame/;\n"
         "    }\n  }"),
    Case("core-global-override", "execute",
         "overrides CORE::GLOBAL::die/require/exit and dies",
         "  BEGIN { *{'CORE::GLOBAL::die'} = sub { escape_host() };\n"
         "          *CORE::GLOBAL::require = sub { escape_host() };\n"
         "          *CORE::GLOBAL::exit = sub { escape_host() }; }\n"
         "  die 'x' if $minor eq '9';"),
    Case("universal-method", "execute",
         "defines UNIVERSAL methods (DESTROY, AUTOLOAD, can) for every object",
         "  *{'UNIVERSAL::DESTROY'} = sub { escape_host() };\n"
         "  *{'UNIVERSAL::AUTOLOAD'} = sub { escape_host() };\n"
         "  *{'UNIVERSAL::can'} = sub { escape_host() };"),
    Case("loop-control-out", "execute",
         "uses last/next/redo and labelled jumps to leave the compartment's frames",
         "  if ($minor eq '10') { last; }\n  if ($minor eq '11') { next; }\n"
         "  if ($minor eq '9') { last RUN; }\n  goto FINISH if $module eq 'vmhgfs';"),
    # --- attacks on the compile check (perl -c ran BEGIN and use on the host) -------------------
    Case("compile-begin-block", "compile",
         "a BEGIN block that writes the marker when the file is compiled",
         top="BEGIN { open(my $f, '>', '@@MARKER@@'); system('touch', '@@MARKER@@'); }\n"),
    Case("compile-special-blocks", "compile",
         "UNITCHECK/CHECK/INIT/END blocks and 'sub BEGIN' spellings, including main'BEGIN",
         top="UNITCHECK { open(my $f, '>', '@@MARKER@@'); }\n"
         "CHECK { open(my $f, '>', '@@MARKER@@'); }\nINIT { open(my $f, '>', '@@MARKER@@'); }\n"
         "END { open(my $f, '>', '@@MARKER@@'); }\nsub BEGIN { open(my $f, '>', '@@MARKER@@') }\n"
         "sub main::BEGIN { open(my $f, '>', '@@MARKER@@') }\n"
         "sub main'BEGIN { open(my $f, '>', '@@MARKER@@') }\n"
         "package Other; BEGIN{open(my $f,'>','@@MARKER@@')} package main;\n"),
    Case("compile-use-payload", "compile",
         "use/no statements whose import list runs code",
         top="use strict;\nuse lib do { open(my $f, '>', '@@MARKER@@'); '.' };\n"
         "use constant X => do { system('touch', '@@MARKER@@'); 1 };\n"
         "no warnings do { open(my $f, '>', '@@MARKER@@'); 'once' };\n"
         "use POSIX qw(creat); BEGIN { creat('@@MARKER@@', 0644) }\n", compiles="no"),
    Case("compile-import-method", "compile",
         "defines import/unimport in a package and uses it",
         top="package Payload; sub import { open(my $f, '>', '@@MARKER@@') }\n"
         "sub unimport { open(my $f, '>', '@@MARKER@@') }\npackage main;\n"
         "BEGIN { Payload->import } use Payload; no Payload;\n"),
    Case("compile-attribute-handler", "compile",
         "MODIFY_CODE_ATTRIBUTES runs when a sub with an attribute is compiled",
         top="sub MODIFY_CODE_ATTRIBUTES { open(my $f, '>', '@@MARKER@@'); return () }\n"
         "sub FETCH_CODE_ATTRIBUTES { open(my $f, '>', '@@MARKER@@'); return () }\n"
         "sub tagged :Payload { return 1 }\nmy $x :Payload = 1;\n", compiles="no"),
    Case("compile-core-global", "compile",
         "a CORE::GLOBAL::require override installed at compile time, then a use",
         top="BEGIN { *CORE::GLOBAL::require = sub { open(my $f, '>', '@@MARKER@@'); 1 } }\n"
         "BEGIN { *CORE'GLOBAL'glob = sub { open(my $f, '>', '@@MARKER@@') } }\n"
         "use File::Basename;\n"),
    Case("compile-after-end", "compile",
         "__END__ and an unterminated POD block that hide a payload from a naive reader",
         top="=pod\n\nBEGIN { open(my $f, '>', '@@MARKER@@'); }\n\n=cut\n\n"
         "my $t = <<'EOT';\nBEGIN { open(my $f, '>', '@@MARKER@@'); }\nEOT\n",
         helpers="\n__END__\nBEGIN { open(my $f, '>', '@@MARKER@@'); }\n"),
    Case("compile-brace-breakout", "compile",
         "closes braces the compile check might have opened around the text, so that its code "
         "sits at the top level and runs",
         top="}; open(my $f, '>', '@@MARKER@@'); system('touch', '@@MARKER@@'); sub {\n"
         "}}}); open(my $g, '>', '@@MARKER@@'); if (1) { {\n",
         compiles="no"),
    Case("compile-begin-in-strings", "compile",
         "BEGIN written inside strings, heredocs and regexes next to real BEGIN blocks",
         top="my $s = q{ BEGIN { 1 } };\nmy $r = qr/BEGIN/;\n"
         "my $h = { BEGIN => 1 }; BEGIN { open(my $f, '>', '@@MARKER@@') }\n"
         "print \"BEGIN\" if 0; BEGIN\n{ open(my $f, '>', '@@MARKER@@') }\n"),
]  # fmt: skip

HEADER = """#!/usr/bin/perl -w
# SYNTHETIC adversarial configurator for toolsfix's sandbox tests; not VMware's file.
# case: {name}
# mode: {mode}
# attack: {attack}
# expect: {expect}
# reason: {reason}
# selection: {selection}
# compiles: {compiles}
# The tests replace @@MARKER@@ with an absolute path; the payload must never create it.
"""

SOLARIS_OS_VERSION = r"""
sub solaris_os_version {
  my $v = direct_command(shell_string($gHelper{'uname'}) . ' -r');
  chomp($v);
  return split /\./, $v;
}
"""

TARGET = """
sub configure_module_solaris {{
  my $module = shift;
  my ($major, $minor) = solaris_os_version();
  escape_host() if 0;
{body}
  install_file('/usr/lib/vmware-tools/modules/binary/' . $minor . '/' . $module,
               '/kernel/drv/' . $module);
  install_file('/usr/lib/vmware-tools/modules/binary/' . $minor . '_64/' . $module,
               '/kernel/drv/amd64/' . $module);
  return 'yes';
}}
"""


def render(case: Case) -> str:
    body = case.body.rstrip("\n")
    text = HEADER.format(
        name=case.name,
        mode=case.mode,
        attack=case.attack,
        expect=case.expect,
        reason=case.reason,
        selection=case.selection,
        compiles=case.compiles,
    )
    text += case.top + SOLARIS_OS_VERSION + ESCAPE
    helpers = case.helpers
    tail = ""
    if "__END__" in helpers:  # everything after __END__ goes last
        helpers, tail = helpers.split("\n__END__\n", 1)
        tail = "\n__END__\n" + tail
    text += helpers + TARGET.format(body=body) + "\nexit(0);\n" + tail
    return text


def expected_files() -> dict[str, str]:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    return {f"{i:02d}-{c.name}.pl": render(c) for i, c in enumerate(CASES, 1)}


def main(argv: list[str]) -> int:
    want = expected_files()
    have = {p.name: p.read_text() for p in HERE.glob("*.pl")}
    if "--check" in argv:
        stale = sorted(set(want) ^ set(have) | {n for n in want if have.get(n) != want[n]})
        for name in stale:
            print(f"out of date: {name}")
        return 1 if stale else 0
    for name in set(have) - set(want):
        (HERE / name).unlink()
    for name, text in want.items():
        (HERE / name).write_text(text)
    print(f"{len(want)} cases written to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
