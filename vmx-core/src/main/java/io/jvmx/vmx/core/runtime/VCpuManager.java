package io.jvmx.vmx.core.runtime;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/** The OSGi service that launches and tracks vCPUs. */
public interface VCpuManager {

    /**
     * Creates a vCPU on a new processor of the requested kind, loads the image, sets it up and starts running it
     * on a new platform thread.
     *
     * @throws IllegalArgumentException with one line for people: unknown processor kind, processor unavailable
     *                                  (with its reason), image does not fit...
     */
    VCpuHandle launch(LaunchRequest request);

    List<VCpuHandle> list();

    Optional<VCpuHandle> get(int id);

    /** Processor kinds registered, with null for available ones or the reason they cannot be used. */
    java.util.Map<String, String> processorKinds();

    /** Forgets vCPUs that have ended. */
    void prune();
}
