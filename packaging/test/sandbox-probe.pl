#!/usr/bin/perl
# Run as ExecStart= of a copy of banwarden.service (same [Service] confinement):
# prints "probe NAME ok|BAD detail" for each thing the unit's sandbox must do.
use strict;
use warnings;
use POSIX ();
use Errno qw(EPERM EAFNOSUPPORT EROFS EACCES ENOENT);

$| = 1;
sub report { my ($name, $ok, $detail) = @_; printf "probe %s %s %s\n", $name, ($ok ? "ok" : "BAD"), $detail // ""; }

# Identity and capabilities.
open my $st, '<', '/proc/self/status' or die "status: $!";
my %s = map { /^(\w+):\s*(.*)$/ ? ($1, $2) : () } <$st>;
close $st;
my ($uid) = split /\s+/, $s{Uid};
report('uid', $uid == scalar(getpwnam('banwarden')), "uid=$uid");
report('groups', (" $s{Groups} " =~ / @{[ scalar getgrnam('systemd-journal') ]} /), "groups=$s{Groups}");
report('caps', $s{CapEff} eq '0000000000001000' && $s{CapBnd} eq '0000000000001000' && $s{CapAmb} eq '0000000000001000',
       "eff=$s{CapEff} bnd=$s{CapBnd} amb=$s{CapAmb}");
report('no_new_privs', $s{NoNewPrivs} eq '1', "NoNewPrivs=$s{NoNewPrivs}");
report('seccomp', $s{Seccomp} eq '2', "Seccomp=$s{Seccomp}");

# RestrictAddressFamilies=AF_UNIX AF_NETLINK
my $r = syscall(41, 2, 2, 0);    # socket(AF_INET, SOCK_DGRAM, 0)
report('af_inet_denied', $r < 0 && $! == EAFNOSUPPORT, "socket(AF_INET)=$r errno=" . ($r < 0 ? $!+0 : 0));
POSIX::close($r) if $r >= 0;
$r = syscall(41, 16, 3, 12);     # socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)
report('af_netlink_allowed', $r >= 0, "socket(AF_NETLINK)=$r");
POSIX::close($r) if $r >= 0;

# SystemCallFilter=~@resources (setpriority) and ~@privileged (setuid), errno EPERM
$r = syscall(141, 0, 0, 5);      # setpriority(PRIO_PROCESS, 0, 5)
report('seccomp_resources', $r < 0 && $! == EPERM, "setpriority=$r errno=" . ($r < 0 ? $!+0 : 0));
$r = syscall(105, $uid);         # setuid(own uid): allowed by the kernel, denied by the filter
report('seccomp_privileged', $r < 0 && $! == EPERM, "setuid=$r errno=" . ($r < 0 ? $!+0 : 0));

# MemoryDenyWriteExecute=yes (seccomp: EPERM; systemd >= 257 on Linux >= 6.3 uses PR_SET_MDWE: EACCES): mmap(PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS)
$r = syscall(9, 0, 4096, 7, 0x22, -1, 0);
report("mdwe", $r == -1 && ($! == EPERM || $! == EACCES), "mmap(rwx)=$r errno=" . ($r == -1 ? $!+0 : 0));

# RestrictNamespaces=yes: unshare(CLONE_NEWUSER) in a child (allowed to any user by the kernel)
my $pid = fork();
if ($pid == 0) { my $x = syscall(272, 0x10000000); POSIX::_exit($x < 0 ? ($!+0) : 0); }
waitpid($pid, 0); my $e = $? >> 8;
report("restrict_namespaces", $e == EPERM, "unshare(NEWUSER) errno=$e");

# ProtectSystem=strict + StateDirectory
my $ok = open(my $fh, '>', '/etc/banwarden/probe');
report('etc_readonly', !$ok && ($! == EROFS || $! == EACCES), "open(/etc/banwarden/probe)=" . ($ok ? 'opened' : "$!"));
$ok = open($fh, '>', '/usr/probe');
report('usr_readonly', !$ok && $! == EROFS, "open(/usr/probe)=" . ($ok ? 'opened' : "$!"));
$ok = open($fh, '>', '/var/lib/banwarden/.probe');
report('state_writable', $ok, "open(/var/lib/banwarden/.probe)=" . ($ok ? 'opened' : "$!"));
if ($ok) { close $fh; my @m = stat('/var/lib/banwarden/.probe'); report('umask_0077', ($m[2] & 0777) == 0600, sprintf("mode=%o", $m[2] & 0777)); unlink '/var/lib/banwarden/.probe'; }
report('home_hidden', !-e '/root/.' || !opendir(my $d, '/root'), "/root " . (-e '/root' ? 'exists' : 'absent'));

# ProtectProc=invisible, ProcSubset=pid
opendir(my $pd, '/proc') or die; my @pids = grep { /^\d+$/ } readdir $pd; closedir $pd;
report('proc_invisible', (grep { $_ == 1 } @pids) == 0, "pids visible: @pids");
report('proc_subset_pid', !-e '/proc/sys/kernel' && !-e '/proc/cpuinfo', "/proc/sys " . (-e '/proc/sys/kernel' ? 'visible' : 'hidden'));

# PrivateDevices=yes
opendir(my $dd, '/dev') or die; my @devs = sort grep { !/^\./ } readdir $dd; closedir $dd;
report('private_devices', !-e '/dev/kmsg' && !grep({ /^(vd|sd|nvme|loop)/ } @devs), "dev: @devs");

# PrivateTmp=yes: /tmp is empty and private
opendir(my $td, '/tmp') or die; my @t = grep { !/^\.\.?$/ } readdir $td; closedir $td;
report('private_tmp', !@t, "tmp entries: @t");

# Journal readable (SupplementaryGroups=systemd-journal)
my @j = (glob('/var/log/journal/*/system.journal'), glob('/run/log/journal/*/system.journal'));
$ok = @j && open($fh, '<', $j[0]);
report('journal_readable', $ok, "file=" . ($j[0] // 'none') . ($ok ? '' : " err=$!"));
print "probe done\n";
