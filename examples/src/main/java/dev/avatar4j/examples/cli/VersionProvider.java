package dev.avatar4j.examples.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** {@code --version}: the avatar4j version and the Java runtime. */
final class VersionProvider implements IVersionProvider {

    @Override
    public String[] getVersion() {
        return new String[] {"avatar4j " + version(),
                "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
    }

    /**
     * The version of the tool: the jar manifest's, else the Maven descriptor of this module or of
     * {@code sdk-api}, else {@code unknown} (a build from class folders).
     */
    static String version() {
        String v = Avatar4jCli.class.getPackage().getImplementationVersion();
        if (v != null) {
            return v;
        }
        for (String artifact : new String[] {"examples", "sdk-api"}) {
            try (InputStream in = Avatar4jCli.class.getResourceAsStream(
                    "/META-INF/maven/dev.avatar4j/" + artifact + "/pom.properties")) {
                if (in != null) {
                    Properties p = new Properties();
                    p.load(in);
                    String found = p.getProperty("version");
                    if (found != null && !found.isBlank()) {
                        return found;
                    }
                }
            } catch (IOException ignored) {
                // try the next source
            }
        }
        return "unknown";
    }
}
