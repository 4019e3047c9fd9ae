// SPDX-License-Identifier: GPL-2.0
#include "check/reach.h"

#include <map>

namespace hetmig::check {

namespace {

// libc functions that call program code: their frames sit between two
// program frames and the converter cannot rebuild them.
const std::map<std::string, const char *> &callbacks()
{
	static const std::map<std::string, const char *> m = {
		{"qsort", "comparator"}, {"qsort_r", "comparator"}, {"bsearch", "comparator"},
		{"lsearch", "comparator"}, {"lfind", "comparator"}, {"tsearch", "comparator"},
		{"tfind", "comparator"}, {"tdelete", "comparator"}, {"twalk", "action"},
		{"tdestroy", "action"}, {"ftw", "callback"}, {"nftw", "callback"},
		{"scandir", "filter or comparator"}, {"glob", "error callback"},
		{"atexit", "exit handler, run by exit()"},
		{"at_quick_exit", "exit handler, run by quick_exit()"},
		{"__cxa_atexit", "exit handler, run by exit()"},
		{"pthread_once", "init routine"},
		{"signal", "signal handler (the interrupted frame is not at a call)"},
		{"sigaction", "signal handler (the interrupted frame is not at a call)"},
		{"bsd_signal", "signal handler (the interrupted frame is not at a call)"},
		{"sigset", "signal handler (the interrupted frame is not at a call)"},
	};
	return m;
}

const char *const kPoints[] = {"__hetmig_park", "__cyg_profile_func_enter", "__hetmig_loop_point"};

} // namespace

bool is_park_function(const std::string &name)
{
	return name == "__hetmig_park";
}

std::string Reach::libc_callback(const std::string &name)
{
	auto it = callbacks().find(name);
	return it == callbacks().end() ? std::string() : std::string(it->second);
}

Reach::Reach(const program::Program &p) : p_(p)
{
	for (const char *pt : kPoints)
		if (p.function_named(pt))
			reaching_.insert(pt);
	any_ = !reaching_.empty();
	// A fixed point over the call graph; indirect calls and libc functions
	// that call back reach every function, so they reach a point when any
	// function does.
	for (bool changed = true; changed;) {
		changed = false;
		for (const auto &f : p.functions()) {
			if (reaching_.count(f.name) || !f.has_debug_info)
				continue;
			for (const auto &c : f.calls) {
				if (c.callee.empty() ? any_ : reaches(c.callee)) {
					reaching_.insert(f.name);
					changed = true;
					break;
				}
			}
		}
	}
}

bool Reach::reaches(const std::string &callee) const
{
	if (reaching_.count(callee))
		return true;
	return any_ && !libc_callback(callee).empty();
}

bool Reach::on_stack(const program::Function &caller, const program::CallSite &site) const
{
	if (!caller.has_debug_info || is_park_function(caller.name))
		return false;
	return site.callee.empty() ? any_ : reaches(site.callee);
}

} // namespace hetmig::check
