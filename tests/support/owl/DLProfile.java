// The OWL API's OWL 2 DL profile check (org.semanticweb.owlapi.profiles.OWL2DLProfile), run as a
// single-file Java program on the OWL API that owlready2's HermiT.jar carries. Prints one line per
// violation: its kind, a tab, the OWL API's description.
import java.io.File;

import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.model.OWLOntology;
import org.semanticweb.owlapi.profiles.OWL2DLProfile;
import org.semanticweb.owlapi.profiles.OWLProfileViolation;

public class DLProfile {
    public static void main(String[] args) throws Exception {
        OWLOntology ontology = OWLManager.createOWLOntologyManager()
            .loadOntologyFromOntologyDocument(new File(args[0]));
        for (OWLProfileViolation violation : new OWL2DLProfile().checkOntology(ontology).getViolations()) {
            System.out.println(violation.getClass().getSimpleName() + "\t"
                + violation.toString().replace('\n', ' '));
        }
    }
}
