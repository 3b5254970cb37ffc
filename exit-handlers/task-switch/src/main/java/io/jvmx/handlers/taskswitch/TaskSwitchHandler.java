package io.jvmx.handlers.taskswitch;

import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import org.osgi.service.component.annotations.Component;

/**
 * TASK_SWITCH (basic exit reason 9). In VMX non-root operation every task switch causes this VM exit, after the
 * processor's checks of the gate and the new TSS descriptor (SDM Vol. 3C 26.4.2): far JMP or CALL to a TSS or task
 * gate, IRET with RFLAGS.NT = 1, and an interrupt or exception through a task gate in the IDT. The VMM performs the
 * switch; this handler does it as the processor would (SDM Vol. 3A 7.3, see {@link TaskSwitch}), so that guests that
 * use hardware task switching (a task gate for #DF, as 32-bit kernels have) run unmodified. The guest resumes in the
 * new task: RIP is the new task's EIP, not advanced past the instruction.
 */
@Component(service = VmExitHandler.class, property = VmExitHandler.EXIT_REASON + "=TASK_SWITCH")
public final class TaskSwitchHandler implements VmExitHandler {

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        new TaskSwitch(vcpu).perform(exit);
        return ExitAction.HANDLED;
    }
}
