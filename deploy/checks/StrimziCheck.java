// Validates the Strimzi resources of built manifests (Kafka, KafkaNodePool, KafkaTopic) against Strimzi's own API
// model, io.strimzi:api from Maven Central: the classes the operator reads these resources with, from which
// Strimzi generates its CRDs' schemas (the CRD files themselves are not published to a registry). Each resource is
// read into its class; a failure to read (a wrong type, an unknown enum value or listener type), a property the
// model does not know, or a property the model marks required (@JsonProperty(required = true), the CRDs'
// "required") that is missing, or a value outside the model's Minimum, Maximum, MinimumItems or Pattern (read with
// the annotation types of deploy/checks/strimzi-annotations, which Strimzi does not publish), is an error.
//   java -cp "$STRIMZI_CLASSPATH" deploy/checks/StrimziCheck.java built.yaml     (deploy/tools.sh env)
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.AnnotatedMember;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.strimzi.api.kafka.model.common.UnknownPropertyPreserving;
import io.strimzi.crdgenerator.annotations.Maximum;
import io.strimzi.crdgenerator.annotations.Minimum;
import io.strimzi.crdgenerator.annotations.MinimumItems;
import io.strimzi.crdgenerator.annotations.Pattern;
import java.lang.reflect.AnnotatedElement;
import java.io.File;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

public class StrimziCheck {
    static final Map<String, String> KINDS = Map.of(
        "Kafka", "io.strimzi.api.kafka.model.kafka.Kafka",
        "KafkaNodePool", "io.strimzi.api.kafka.model.nodepool.KafkaNodePool",
        "KafkaTopic", "io.strimzi.api.kafka.model.topic.KafkaTopic");

    final ObjectMapper mapper = new YAMLMapper()
        .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
        .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true)
        .configure(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES, true);
    final List<String> errors = new ArrayList<>();
    final Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());

    public static void main(String[] args) throws Exception {
        StrimziCheck check = new StrimziCheck();
        int checked = 0;
        for (String path : args) {
            var parser = new YAMLFactory().createParser(new File(path));
            for (JsonNode doc : check.mapper.readValues(parser, JsonNode.class).readAll()) {
                if (doc == null || !doc.path("apiVersion").asText().startsWith("kafka.strimzi.io/")) continue;
                check.resource(doc);
                checked++;
            }
        }
        for (String error : check.errors) System.err.println("strimzi: " + error);
        System.out.println("strimzi: " + checked + " resources read with io.strimzi:api, " + check.errors.size() + " errors");
        System.exit(check.errors.isEmpty() ? 0 : 1);
    }

    void resource(JsonNode doc) {
        String kind = doc.path("kind").asText();
        String where = kind + "/" + doc.path("metadata").path("name").asText("?");
        if (!doc.path("apiVersion").asText().equals("kafka.strimzi.io/v1beta2")) {
            errors.add(where + ": apiVersion must be kafka.strimzi.io/v1beta2");
            return;
        }
        String className = KINDS.get(kind);
        if (className == null) {
            errors.add(where + ": no model for this kind here");
            return;
        }
        if (!doc.path("spec").isObject()) {
            errors.add(where + ": spec is required");
            return;
        }
        try {
            Object value = mapper.treeToValue(doc, Class.forName(className));
            walk(value, where);
        } catch (Exception e) {
            errors.add(where + ": " + e.getMessage().lines().findFirst().orElse(e.toString()));
        }
    }

    // the constraints Strimzi also writes into its CRDs' schemas
    void constraints(AnnotatedElement element, Object value, String where) {
        if (value == null || element == null) return;
        Minimum minimum = element.getAnnotation(Minimum.class);
        Maximum maximum = element.getAnnotation(Maximum.class);
        MinimumItems items = element.getAnnotation(MinimumItems.class);
        Pattern pattern = element.getAnnotation(Pattern.class);
        if (value instanceof Number number) {
            if (minimum != null && number.doubleValue() < minimum.value()) {
                errors.add(where + ": " + number + " is below the minimum " + minimum.value());
            }
            if (maximum != null && number.doubleValue() > maximum.value()) {
                errors.add(where + ": " + number + " is above the maximum " + maximum.value());
            }
        }
        if (items != null && value instanceof Collection<?> list && list.size() < items.value()) {
            errors.add(where + ": at least " + items.value() + " items");
        }
        if (pattern != null && value instanceof String text
                && !java.util.regex.Pattern.compile(pattern.value()).matcher(text).find()) {
            errors.add(where + ": \"" + text + "\" does not match " + pattern.value());
        }
    }

    // every Strimzi object reached: no unknown properties, every required property present
    void walk(Object value, String where) throws Exception {
        if (value == null) return;
        if (value instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                if (item == null) errors.add(where + "[" + i + "]: a value the model does not know");
                walk(item, where + "[" + i++ + "]");
            }
            return;
        }
        if (value instanceof Map<?, ?> map) {
            for (var entry : map.entrySet()) walk(entry.getValue(), where + "." + entry.getKey());
            return;
        }
        if (!value.getClass().getName().startsWith("io.strimzi.") || value.getClass().isEnum()) return;
        if (!seen.add(value)) return;  // a getter that answers with an object already walked
        if (value instanceof UnknownPropertyPreserving preserving
                && preserving.getAdditionalProperties() != null && !preserving.getAdditionalProperties().isEmpty()) {
            errors.add(where + ": unknown properties " + preserving.getAdditionalProperties().keySet());
        }
        JavaType type = mapper.constructType(value.getClass());
        BeanDescription bean = mapper.getDeserializationConfig().introspect(type);
        for (BeanPropertyDefinition property : bean.findProperties()) {
            if (property.getName().equals("status")) continue;
            AnnotatedMember getter = property.getAccessor();
            if (getter == null) continue;
            getter.fixAccess(true);
            Object child = getter.getValue(value);
            if (child == null && property.isRequired()) {
                errors.add(where + "." + property.getName() + ": required");
            }
            constraints(getter.getAnnotated(), child, where + "." + property.getName());
            walk(child, where + "." + property.getName());
        }
    }
}
