// A sample java driver for the agent's end-to-end tests: it writes what it
// received to ../report.txt, then stays up and prints a line per second.
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

public class Main {
    static final String VERSION = "@VERSION@";

    static String hex(String s) {
        StringBuilder b = new StringBuilder();
        for (byte c : s.getBytes(StandardCharsets.UTF_8)) {
            b.append(String.format("%02x", c & 0xff));
        }
        return b.toString();
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> rec = new LinkedHashMap<>();
        rec.put("version", VERSION);
        long pid = ProcessHandle.current().pid();
        rec.put("pid", Long.toString(pid));
        rec.put("cwd", new File(".").getCanonicalPath());
        String[] files = new File(".").list();
        Arrays.sort(files);
        rec.put("files", String.join("\n", files));
        rec.put("env", String.join("\n", new TreeSet<>(System.getenv().keySet())));
        for (String k : new String[] {"FUNCTION_ID", "FUNCTION_NAME", "FC_DRIVER_CONFIG", "DRIVERHUB_CONFIG", "LD_LIBRARY_PATH"}) {
            String v = System.getenv(k);
            if (v != null) {
                rec.put(k, v);
            }
        }
        String cfg = System.getenv("DRIVERHUB_CONFIG");
        if (cfg != null) {
            try {
                rec.put("DRIVERHUB_CONFIG_CONTENT", Files.readString(Paths.get(cfg)));
            } catch (Exception e) {
                rec.put("DRIVERHUB_CONFIG_ERROR", e.toString());
            }
        }
        Path settings = Paths.get("settings.ini");
        if (Files.exists(settings)) {
            rec.put("settings", Files.readString(settings));
        }
        StringBuilder out = new StringBuilder();
        for (Map.Entry<String, String> e : rec.entrySet()) {
            out.append(e.getKey()).append('=').append(hex(e.getValue())).append('\n');
        }
        Path tmp = Paths.get("..", "report.txt.tmp." + pid);
        Files.writeString(tmp, out.toString());
        Files.move(tmp, Paths.get("..", "report.txt"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        for (int n = 1;; n++) {
            System.out.println("tick " + n + " " + System.getenv("FUNCTION_NAME") + " " + VERSION);
            System.out.flush();
            Thread.sleep(1000);
        }
    }
}
