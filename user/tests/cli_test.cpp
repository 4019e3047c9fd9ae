// SPDX-License-Identifier: GPL-2.0
// Command-line numbers: a bad value is refused whole, never read as 0 or
// wrapped into range (atoi took "x" for 0, a 16-bit cast 99999 for 34463).
#include <gtest/gtest.h>

#include <cstdint>

#include "cli.h"

using namespace hetmig;

TEST(OptionNumber, TakesWholeNumbersInRange)
{
	EXPECT_EQ(option_number("--max-points", "1", 1, 10), 1);
	EXPECT_EQ(option_number("--max-points", "10", 1, 10), 10);
	EXPECT_EQ(option_number("--user", "0", 0, UINT32_MAX - 1), 0);
	EXPECT_EQ(option_number("--at-point", "4294967295", 1, UINT32_MAX), 4294967295LL);
}

TEST(OptionNumber, RefusesWhatIsNotOne)
{
	for (const char *bad : {"", "x", "7x", " 7", "-1", "0", "11", "1.5", "+3",
				"99999999999999999999999"})
		EXPECT_FALSE(option_number("--max-points", bad, 1, 10)) << "'" << bad << "'";
}

TEST(OptionNumber, SaysWhichOptionAndWhy)
{
	testing::internal::CaptureStderr();
	EXPECT_FALSE(option_number("--listen's port", "99999", 1, 65535));
	EXPECT_EQ(testing::internal::GetCapturedStderr(),
		  "hetmig: --listen's port wants a whole number from 1 to 65535, not '99999'\n");
}

TEST(SetOption, LeavesTheTargetAloneWhenBad)
{
	uint16_t port = 7117;
	EXPECT_FALSE(set_option(port, "--listen's port", "70000", 1, 65535));
	EXPECT_EQ(port, 7117);
	EXPECT_TRUE(set_option(port, "--listen's port", "8000", 1, 65535));
	EXPECT_EQ(port, 8000);
}

TEST(OptionSeconds, TakesPositiveFractions)
{
	EXPECT_DOUBLE_EQ(*option_seconds("--park-timeout", "0.5", 86400), 0.5);
	EXPECT_DOUBLE_EQ(*option_seconds("--park-timeout", "600", 86400), 600);
	for (const char *bad : {"", "0", "-1", "x", "1s", "nan", "inf", "86401"})
		EXPECT_FALSE(option_seconds("--park-timeout", bad, 86400)) << "'" << bad << "'";
}
