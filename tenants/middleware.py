from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpResponseNotFound
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name, get_tenant_domain_model

from .access import roles_for


class SchoolMiddleware(TenantMainMiddleware):
    """django-tenants' middleware (the school from the request's host) without its first
    statement: it sets the search path to public before every lookup (``SET search_path``
    and the domain query, two round trips of a register's 13; issue 18.5). Here the lookup
    names the public schema itself, so it is right whatever search path the connection was
    left with; any request that finds no school is switched to public as before."""

    def get_tenant(self, domain_model, hostname):
        school = domain_model._meta.get_field("tenant").related_model
        public = connection.ops.quote_name(get_public_schema_name())
        found = list(school.objects.raw(
            f"SELECT s.* FROM {public}.{school._meta.db_table} s "  # noqa: S608 (model names)
            f"JOIN {public}.{domain_model._meta.db_table} d ON d.tenant_id = s.id "
            "WHERE d.domain = %s", [hostname]))
        if not found:
            raise domain_model.DoesNotExist
        return found[0]

    def process_request(self, request):
        """TenantMainMiddleware.process_request, less its opening set_schema_to_public."""
        if not connection.schema_name:
            connection.set_schema_to_public()  # a new connection: django-tenants needs one
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            connection.set_schema_to_public()
            return HttpResponseNotFound()
        domain_model = get_tenant_domain_model()
        try:
            tenant = self.get_tenant(domain_model, hostname)
        except domain_model.DoesNotExist:
            connection.set_schema_to_public()  # no school for this host: public, as before
            return self.no_tenant_found(request, hostname)
        tenant.domain_url = hostname
        request.tenant = tenant
        connection.set_tenant(request.tenant)
        self.setup_url_routing(request)
        return None


class MembershipMiddleware:
    """Attach ``request.roles``: the roles the signed-in person holds in this school."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.roles = roles_for(request.user, getattr(connection, "tenant", None))
        return self.get_response(request)
