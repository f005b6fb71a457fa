/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kselftest harness, as every mdev kselftest includes it (in place of
 * kselftest_harness.h), with a SKIP() that cannot hide a failure.
 *
 * The harness's SKIP() sets the test's exit code to KSFT_SKIP whatever it
 * was: after a failed EXPECT_*() that turns the failure into "ok # SKIP".
 * A test must decide whether it can run before it checks anything; this
 * SKIP() holds every test to that.  Called after a failed check, it leaves
 * the test failed, says so, and runs its statement (return) all the same.
 */

#ifndef __MDEV_HARNESS_H
#define __MDEV_HARNESS_H

#include <stdarg.h>
#include <stdio.h>

#include "kselftest_harness.h"

static inline void __printf(4, 5)
mdev_skip(struct __test_metadata *_metadata, const char *file, int line,
	  const char *fmt, ...)
{
	char why[sizeof(_metadata->results->reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);

	if (_metadata->exit_code != KSFT_PASS &&
	    _metadata->exit_code != KSFT_SKIP) {
		fprintf(TH_LOG_STREAM,
			"# %s:%d:%s:SKIP after a failed check, still failing: %s\n",
			file, line, _metadata->name, why);
		return;
	}
	snprintf(_metadata->results->reason,
		 sizeof(_metadata->results->reason), "%s", why);
	if (TH_LOG_ENABLED)
		fprintf(TH_LOG_STREAM, "#      SKIP      %s\n", why);
	_metadata->exit_code = KSFT_SKIP;
}

#undef SKIP
#define SKIP(statement, fmt, ...) do {					\
	mdev_skip(_metadata, __FILE__, __LINE__, fmt, ##__VA_ARGS__);	\
	_metadata->trigger = 0;						\
	statement;							\
} while (0)

#endif /* __MDEV_HARNESS_H */
