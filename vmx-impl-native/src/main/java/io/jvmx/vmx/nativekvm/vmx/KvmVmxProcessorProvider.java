package io.jvmx.vmx.nativekvm.vmx;

import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.spi.VmxProcessor;
import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import io.jvmx.vmx.nativekvm.kvm.Kvm;
import io.jvmx.vmx.nativekvm.kvm.KvmException;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Makes KVM processors, where /dev/kvm can be opened and has what they need; otherwise {@link #unavailableReason}
 * says why in one line. Processors still open when the bundle stops are closed then, so that no descriptor or
 * mapping outlives the bundle.
 */
@Component(service = VmxProcessorProvider.class, property = VmxProcessorProvider.KIND + "=" + KvmVmxProcessor.KIND)
public final class KvmVmxProcessorProvider implements VmxProcessorProvider {
    private final Set<KvmVmxProcessor> open = Collections.newSetFromMap(new IdentityHashMap<>());

    @Override
    public String kind() {
        return KvmVmxProcessor.KIND;
    }

    /** Opens /dev/kvm and checks its capabilities each time: permissions and modules can change while jvmx runs. */
    @Override
    public String unavailableReason() {
        try (Kvm kvm = Kvm.open()) {
            KvmRequirements.check(kvm);
            return null;
        } catch (KvmException e) {
            return e.getMessage();
        } catch (LinkageError e) {
            return "JNA cannot load its native library here: " + e.getMessage();
        }
    }

    @Override
    public Set<ExitReason> deliverableExits() {
        return KvmVmxCapabilities.DELIVERABLE;
    }

    /**
     * @throws IllegalArgumentException if {@code memoryBytes} is not a positive multiple of 4 KiB of at least two
     *                                  frames and below 2 GiB
     * @throws KvmException             with one line when KVM cannot be used
     */
    @Override
    public VmxProcessor open(long memoryBytes) {
        if (memoryBytes < 8192 || memoryBytes % 4096 != 0 || memoryBytes > Integer.MAX_VALUE - 4095) {
            throw new IllegalArgumentException("processor memory must be a multiple of 4 KiB, at least 8 KiB and "
                    + "below 2 GiB, not " + memoryBytes + " bytes");
        }
        KvmVmxProcessor p = KvmVmxProcessor.open(memoryBytes);
        synchronized (open) {
            open.removeIf(KvmVmxProcessor::isClosed);
            open.add(p);
        }
        return p;
    }

    /** Bundle stop: every processor this provider made and nobody closed is closed now. */
    @Deactivate
    void deactivate() {
        List<KvmVmxProcessor> left;
        synchronized (open) {
            left = List.copyOf(open);
            open.clear();
        }
        for (KvmVmxProcessor p : left) {
            p.close();
        }
    }
}
