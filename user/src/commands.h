// SPDX-License-Identifier: GPL-2.0
// The subcommands of hetmig; one file each, dispatched from main.cpp.
#pragma once

namespace hetmig {

int cmd_version(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_freeze(int argc, char **argv);
int cmd_thaw(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_recv(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_convert(int argc, char **argv);

} // namespace hetmig
