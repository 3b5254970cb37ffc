package io.jvmx.vmx.core.internal;

import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;

import java.lang.reflect.Proxy;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** A service reference as the framework would hand it to a DS bind method: properties and a bundle with a name. */
final class FakeServiceReference<S> implements ServiceReference<S> {
    private static final AtomicLong IDS = new AtomicLong(100);

    final Map<String, Object> props = new LinkedHashMap<>();
    private final Bundle bundle;

    FakeServiceReference(String bundleName, Object reasons, int ranking) {
        this(bundleName, reasons, ranking, IDS.incrementAndGet());
    }

    FakeServiceReference(String bundleName, Object reasons, int ranking, long serviceId) {
        if (reasons != null) {
            props.put("vmx.exit.reason", reasons);
        }
        props.put(Constants.SERVICE_ID, serviceId);
        props.put(Constants.SERVICE_RANKING, ranking);
        bundle = (Bundle) Proxy.newProxyInstance(Bundle.class.getClassLoader(), new Class<?>[] {Bundle.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getSymbolicName" -> bundleName;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toString" -> "bundle " + bundleName;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    @Override
    public Object getProperty(String key) {
        return props.get(key);
    }

    @Override
    public String[] getPropertyKeys() {
        return props.keySet().toArray(new String[0]);
    }

    @Override
    public Bundle getBundle() {
        return bundle;
    }

    @Override
    public Bundle[] getUsingBundles() {
        return new Bundle[0];
    }

    @Override
    public boolean isAssignableTo(Bundle bundle, String className) {
        return true;
    }

    @Override
    public int compareTo(Object reference) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Dictionary<String, Object> getProperties() {
        return new Hashtable<>(props);
    }

    @Override
    public <A> A adapt(Class<A> type) {
        return null;
    }
}
