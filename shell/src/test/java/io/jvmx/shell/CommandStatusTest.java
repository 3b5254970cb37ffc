package io.jvmx.shell;

import org.apache.felix.service.command.CommandSession;
import org.junit.Test;

import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

public class CommandStatusTest {

    /** A session that only holds variables, as the interactive shell's and a batch session's differ. */
    private static CommandSession session(Map<String, Object> vars) {
        return (CommandSession) Proxy.newProxyInstance(CommandSession.class.getClassLoader(),
                new Class<?>[]{CommandSession.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "get" -> vars.get((String) args[0]);
                    case "put" -> vars.put((String) args[0], args[1]);
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    @Test
    public void batchSessionsAndScriptsGetTheStatus() {
        assertEquals(3, CommandStatus.of(session(new HashMap<>()), 3));
        assertEquals(0, CommandStatus.of(null, 0));
    }

    @Test
    public void theInteractivePromptGetsNothingToEcho() {
        Map<String, Object> vars = new HashMap<>();
        vars.put(CommandStatus.LINE_READER, new Object());
        assertNull(CommandStatus.of(session(vars), 2));
    }
}
