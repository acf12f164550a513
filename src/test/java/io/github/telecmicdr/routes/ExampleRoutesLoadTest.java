package io.github.telecmicdr.routes;

/**
 * The routes users copy (routes/examples/, such as hubspot-calls) loaded as the README says, beside
 * the service's own: each starts, and every bean it names is bound with the methods it calls.
 */
class ExampleRoutesLoadTest extends RoutesLoadTest {

    @Override
    protected String exampleRoutes() {
        return "file:routes/examples/*.camel.yaml";
    }
}
