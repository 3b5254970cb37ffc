package io.jvmx.itests;

import static org.junit.Assert.assertTrue;

import org.junit.runner.JUnitCore;
import org.junit.runner.Result;
import org.junit.runner.notification.Failure;

/**
 * Runs a Pax Exam test class from a plain JUnit test. Pax Exam reports a test whose assumption fails inside the OSGi
 * probe as passed, so a test that depends on something this machine may lack (a fetched kernel, a usable /dev/kvm)
 * checks it outside, as a JUnit assumption that Failsafe reports as skipped with its reason, and only then runs the
 * Pax Exam class (named without the IT suffix, so that Failsafe does not run it on its own).
 */
final class InFelix {
    private InFelix() {
    }

    static void run(Class<?> paxExamTest) {
        Result result = new JUnitCore().run(paxExamTest);
        StringBuilder failures = new StringBuilder();
        for (Failure f : result.getFailures()) {
            failures.append(f.getTestHeader()).append(": ").append(f.getTrace()).append('\n');
        }
        assertTrue(paxExamTest.getSimpleName() + " failed:\n" + failures, result.wasSuccessful());
        assertTrue(paxExamTest.getSimpleName() + " ran no test", result.getRunCount() > 0);
        assertTrue(paxExamTest.getSimpleName() + " ignored or skipped a test inside the container",
                result.getIgnoreCount() == 0 && result.getAssumptionFailureCount() == 0);
    }
}
