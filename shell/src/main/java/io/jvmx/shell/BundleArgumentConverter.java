package io.jvmx.shell;

import org.apache.felix.service.command.Converter;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

/**
 * Turns a bundle id or symbolic name on the command line into a {@link Bundle}, so that Felix's {@code start},
 * {@code stop}, {@code update} and {@code uninstall} take {@code 3} or {@code io.jvmx.handler-cpuid}.
 *
 * <p>gogo.jline registers such a converter when it starts, but it also takes the terminal then; jvmx's batch mode
 * ({@code ./jvmx stop 3}) therefore never starts it, and without this component Gogo answers "Cannot coerce
 * stop(Token)". In the interactive shell both converters are present and agree.
 */
@Component(service = Converter.class)
public final class BundleArgumentConverter implements Converter {

    private final BundleContext context;

    @Activate
    public BundleArgumentConverter(BundleContext context) {
        this.context = context;
    }

    @Override
    public Object convert(Class<?> desiredType, Object in) {
        if (desiredType != Bundle.class || in == null) {
            return null;
        }
        String text = in.toString().trim();
        try {
            return context.getBundle(Long.parseLong(text)); // null for an id nobody has: Gogo then says so
        } catch (NumberFormatException notAnId) {
            for (Bundle b : context.getBundles()) {
                if (text.equals(b.getSymbolicName())) {
                    return b;
                }
            }
            return null;
        }
    }

    /** Formatting is left to Gogo's own converters. */
    @Override
    public CharSequence format(Object target, int level, Converter escape) {
        return null;
    }
}
