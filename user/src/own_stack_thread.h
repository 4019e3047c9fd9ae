// SPDX-License-Identifier: GPL-2.0
// A thread on a stack of our own, unmapped when it is joined. glibc keeps
// the stacks of ended threads for reuse (up to 40 MiB of them), so a
// process that ran threads holds 8 MiB mappings it no longer uses; a
// process the restorer then makes (clone3 copies its mappings) holds them
// too, and one of them may lie where the image wants its vdso: "the
// image's vdso place is taken here" (seen once, x86_64 6.12, daemons.sh).
// What runs on threads in a restorer before it makes the process (the
// image's checksums) runs on these.
#pragma once

#include <functional>

namespace hetmig {

class OwnStackThread {
public:
	// Runs WORK on a new thread, or here at once if none can be made.
	explicit OwnStackThread(std::function<void()> work);
	~OwnStackThread();	// joins, then unmaps the stack
	OwnStackThread(const OwnStackThread &) = delete;
	OwnStackThread &operator=(const OwnStackThread &) = delete;	// it runs on *this

private:
	static void *start(void *self);
	std::function<void()> work_;
	void *stack_ = nullptr;
	unsigned long thread_ = 0;
	bool running_ = false;
};

} // namespace hetmig
