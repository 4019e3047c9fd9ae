// SPDX-License-Identifier: GPL-2.0
// The program fixtures built by CMakeLists.txt (fixtures/program).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "program/program.h"

namespace hetmig::testing {

inline std::string fixture(const std::string &name)
{
	return std::string(HETMIG_PROGRAM_FIXTURES) + "/" + name;
}

inline program::Program open_fixture(const std::string &name)
{
	auto p = program::Program::open(fixture(name));
	if (!p)
		ADD_FAILURE() << name << ": " << p.error().describe();
	return std::move(*p);
}

} // namespace hetmig::testing
