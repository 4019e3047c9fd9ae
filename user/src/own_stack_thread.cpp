// SPDX-License-Identifier: GPL-2.0
#include "own_stack_thread.h"

#include <pthread.h>
#include <sys/mman.h>
#include <utility>

namespace hetmig {

namespace {

// Enough for a checksum loop and what libc calls under it.
constexpr size_t kStackSize = 1 << 20;

} // namespace

OwnStackThread::OwnStackThread(std::function<void()> work) : work_(std::move(work))
{
	stack_ = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	pthread_attr_t attr;
	if (stack_ != MAP_FAILED && !pthread_attr_init(&attr)) {
		pthread_t t{};
		running_ = !pthread_attr_setstack(&attr, stack_, kStackSize) &&
			   !pthread_create(&t, &attr, &OwnStackThread::start, this);
		thread_ = (unsigned long)t;
		pthread_attr_destroy(&attr);
	}
	if (stack_ == MAP_FAILED)
		stack_ = nullptr;
	if (!running_)
		work_();
}

OwnStackThread::~OwnStackThread()
{
	if (running_)
		pthread_join(pthread_t(thread_), nullptr);
	if (stack_)
		munmap(stack_, kStackSize);
}

void *OwnStackThread::start(void *self)
{
	static_cast<OwnStackThread *>(self)->work_();
	return nullptr;
}

} // namespace hetmig
