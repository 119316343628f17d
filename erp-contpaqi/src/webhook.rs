//! Webhooks: CONTPAQi Comercial sends no notifications, and the bridge contract has none. Changes are read by
//! polling the bridge's change feed ([`changes`](crate::changes)); there is nothing to verify here.
