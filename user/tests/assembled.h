// SPDX-License-Identifier: GPL-2.0
// Hand-assembled functions for the program model's analyses (liveness,
// constants, frame slots): one call between a body and a tail, in the
// frames gcc builds, decoded as the program model decodes them.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "program/impl.h"

namespace hetmig::program::testing {

constexpr uint64_t kCodeAt = 0x1000;

struct Assembled {
	std::vector<uint8_t> code;
	std::vector<Insn> insns;
	Function f;  // its one call is f.calls[0]
};

using Bytes = std::vector<uint8_t>;

inline Bytes word(uint32_t x)
{
	return {uint8_t(x), uint8_t(x >> 8), uint8_t(x >> 16), uint8_t(x >> 24)};
}

// ALL (one instruction's bytes each) at kCodeAt, the call at index CALL;
// the frame pointer set up by the first two, CFA - fp and CFA - sp as given.
inline Assembled assemble(Isa isa, const std::vector<Bytes> &all, size_t call,
			  uint64_t cfa_minus_fp, uint64_t cfa_minus_sp)
{
	Assembled a;
	for (size_t k = 0; k < all.size(); k++) {
		uint64_t at = kCodeAt + a.code.size();
		auto in = isa == Isa::x86_64 ? decode_x86_64(all[k].data(), all[k].size(), at)
					     : decode_aarch64(all[k].data(), all[k].size(), at);
		EXPECT_TRUE(in && in->length == all[k].size()) << "instruction " << k;
		if (!in)
			return a;
		a.insns.push_back(*in);
		if (k == call) {
			CallSite c;
			c.call_address = at;
			c.return_address = at + in->length;
			a.f.calls.push_back(c);
		}
		a.code.insert(a.code.end(), all[k].begin(), all[k].end());
	}
	a.f.low = kCodeAt;
	a.f.high = kCodeAt + a.code.size();
	a.f.decoded = true;
	a.f.frame.known = true;
	a.f.frame.cfa_minus_fp = cfa_minus_fp;
	a.f.frame.cfa_minus_sp = cfa_minus_sp;
	return a;
}

// push %rbp; mov %rsp,%rbp; BODY; call; TAIL; leave; ret. CFA_MINUS_SP
// 16 when sp stays at fp, more for a frame below it.
inline Assembled x86_64_function(const std::vector<Bytes> &body, const std::vector<Bytes> &tail,
				 uint64_t cfa_minus_sp = 16)
{
	std::vector<Bytes> all = {{0x55}, {0x48, 0x89, 0xe5}};
	all.insert(all.end(), body.begin(), body.end());
	size_t call = all.size();
	all.push_back({0xe8, 0, 0, 0, 0});
	all.insert(all.end(), tail.begin(), tail.end());
	all.push_back({0xc9});
	all.push_back({0xc3});
	return assemble(Isa::x86_64, all, call, 16, cfa_minus_sp);
}

// stp x29, x30, [sp, #-32]!; mov x29, sp; BODY; bl; TAIL;
// ldp x29, x30, [sp], #32; ret (sp equals fp in the body).
inline Assembled aarch64_function(const std::vector<uint32_t> &body,
				  const std::vector<uint32_t> &tail)
{
	std::vector<Bytes> all = {word(0xa9be7bfd), word(0x910003fd)};
	for (uint32_t x : body)
		all.push_back(word(x));
	size_t call = all.size();
	all.push_back(word(0x94000000));
	for (uint32_t x : tail)
		all.push_back(word(x));
	all.push_back(word(0xa8c27bfd));
	all.push_back(word(0xd65f03c0));
	return assemble(Isa::aarch64, all, call, 32, 32);
}

} // namespace hetmig::program::testing
