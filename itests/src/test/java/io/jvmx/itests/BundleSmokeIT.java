package io.jvmx.itests;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.component.runtime.dto.UnsatisfiedReferenceDTO;

import javax.inject.Inject;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/** The platform assembles: every jvmx bundle resolves and is ACTIVE, and every DS component is satisfied. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BundleSmokeIT extends JvmxTestSupport {

    @Inject
    private ServiceComponentRuntime scr;

    @Test
    public void everyJvmxBundleIsActive() {
        List<String> notActive = new ArrayList<>();
        for (String bsn : JVMX_BUNDLES) {
            Bundle b = installedBundle(bsn);
            if (b.getState() != Bundle.ACTIVE) {
                notActive.add(bsn + " (state " + b.getState() + ")");
            }
        }
        assertTrue("not active: " + notActive, notActive.isEmpty());
    }

    @Test
    public void everyJvmxComponentIsSatisfied() throws Exception {
        // the shell's commands exist once the components they need are up: wait for them, then look at all
        awaitCommand("vcpu", "run");
        awaitCommand("vmx", "info");
        List<String> problems = new ArrayList<>();
        int components = 0;
        for (String bsn : JVMX_BUNDLES) {
            Collection<ComponentDescriptionDTO> descriptions = scr.getComponentDescriptionDTOs(installedBundle(bsn));
            for (ComponentDescriptionDTO d : descriptions) {
                components++;
                if (!scr.isComponentEnabled(d)) {
                    problems.add(d.name + " is disabled");
                    continue;
                }
                Collection<ComponentConfigurationDTO> configurations = scr.getComponentConfigurationDTOs(d);
                if (configurations.isEmpty()) {
                    problems.add(d.name + " (" + bsn + ") has no configuration");
                }
                for (ComponentConfigurationDTO c : configurations) {
                    if (c.state != ComponentConfigurationDTO.SATISFIED && c.state != ComponentConfigurationDTO.ACTIVE) {
                        StringBuilder sb = new StringBuilder(d.name + " (" + bsn + ") state " + c.state);
                        for (UnsatisfiedReferenceDTO r : c.unsatisfiedReferences) {
                            sb.append(", unsatisfied reference ").append(r.name).append(' ').append(r.target);
                        }
                        if (c.failure != null) {
                            sb.append(", failure ").append(c.failure);
                        }
                        problems.add(sb.toString());
                    }
                }
            }
        }
        assertTrue("components not satisfied: " + problems, problems.isEmpty());
        // the bundles that are DS-based (all but the API/library ones) contribute components
        assertFalse("no DS components found in the jvmx bundles", components == 0);
        assertEquals("the shell bundle's components: vcpu, vmx, the bundle-argument converter", 3,
                scr.getComponentDescriptionDTOs(installedBundle("io.jvmx.shell")).size());
    }
}
